import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzleNodePostgres } from "drizzle-orm/node-postgres";
import type { PgColumnBuilderBase, PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import pg from "pg";
import postgres from "postgres";
import type { SessionsTable } from "../../src/stores/drizzle/index.js";
import { drizzleStore, migrate, sessionsTable } from "../../src/stores/drizzle/index.js";

/** The real server's URL, when the run has one (`describe.skipIf(!databaseUrl)`). */
export const databaseUrl = process.env.DATABASE_URL;

export type DriverName = "pglite" | "postgres-js" | "node-postgres";

/** A fresh, isolated database with the sessions table in it, and a store over it. */
export interface TestDatabase {
  name: DriverName;
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>;
  table: SessionsTable;
  store: ReturnType<typeof drizzleStore>;
  /**
   * Raw SQL through the same client, `$1`-style params; rows exactly as the driver returns them
   * (timestamps are strings on postgres-js, Dates elsewhere; cast in SQL to compare).
   */
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The fresh database's URL (real server only), to open a second connection in a test. */
  url?: string;
  /** Closes the client and, on the real server, drops the database. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** A custom table; created from its Drizzle definition instead of by `migrate()`. */
  table?: SessionsTable;
  /** Shorthand for `table: sessionsTable("sessions", { columns })`. */
  columns?: Record<string, PgColumnBuilderBase>;
}

/** An in-memory PGlite database. */
export async function openPglite(options: OpenOptions = {}): Promise<TestDatabase> {
  const client = new PGlite();
  const db = drizzlePglite({ client });
  const query = async (text: string, params?: unknown[]) => (await client.query<Record<string, unknown>>(text, params)).rows;
  return finish("pglite", db, query, options, () => client.close());
}

/** A fresh database on the server at `url`, through postgres.js. */
export async function openPostgresJs(url: string, options: OpenOptions = {}): Promise<TestDatabase> {
  const fresh = await createDatabase(url);
  // Migrations' "already exists, skipping" notices would flood the test output.
  const client = postgres(fresh.url, { max: 4, onnotice: () => {} });
  const db = drizzlePostgresJs({ client });
  const query = async (text: string, params: unknown[] = []) =>
    (await client.unsafe(text, params as never[])) as unknown as Record<string, unknown>[];
  return finish(
    "postgres-js",
    db,
    query,
    options,
    async () => {
      await client.end({ timeout: 5 });
      await fresh.drop();
    },
    fresh.url,
  );
}

/** A fresh database on the server at `url`, through a node-postgres Pool. */
export async function openNodePostgres(url: string, options: OpenOptions = {}): Promise<TestDatabase> {
  const fresh = await createDatabase(url);
  const pool = new pg.Pool({ connectionString: fresh.url, max: 4 });
  // An idle client's error (server restart) must not crash the process (R50).
  pool.on("error", () => {});
  const db = drizzleNodePostgres({ client: pool });
  const query = async (text: string, params?: unknown[]) => (await pool.query(text, params)).rows;
  return finish(
    "node-postgres",
    db,
    query,
    options,
    async () => {
      await pool.end();
      await fresh.drop();
    },
    fresh.url,
  );
}

async function finish(
  name: DriverName,
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>,
  query: TestDatabase["query"],
  options: OpenOptions,
  close: () => Promise<void>,
  url?: string,
): Promise<TestDatabase> {
  const custom = options.table ?? (options.columns ? sessionsTable("sessions", { columns: options.columns }) : undefined);
  try {
    if (custom === undefined) await migrate(db);
    else await createTable(query, custom);
  } catch (error) {
    await close();
    throw error;
  }
  const table = custom ?? sessionsTable();
  const store = drizzleStore({ db, table });
  return { name, db, table, store, query, close, ...(url === undefined ? {} : { url }) };
}

/**
 * Creates `table` with the DDL drizzle-kit generates for it (what a user's `drizzle-kit generate`
 * writes), so custom-column tables come from their Drizzle definition, not hand-written SQL.
 * @example await createTable(database.query, sessionsTable("other_sessions"));
 */
export async function createTable(query: TestDatabase["query"], table: SessionsTable): Promise<void> {
  const { generateDrizzleJson, generateMigration } = await import("drizzle-kit/api");
  for (const statement of await generateMigration(generateDrizzleJson({}), generateDrizzleJson({ table }))) {
    await query(statement);
  }
}

/** Creates `tessera_t_<random>` through the URL's own database; vitest runs files in parallel. */
export async function createDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_t_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = async (statement: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  await admin(`create database "${name}"`);
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return { url: fresh.toString(), drop: () => admin(`drop database if exists "${name}" with (force)`) };
}
