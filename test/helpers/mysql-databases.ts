import type { MySqlColumnBuilderBase } from "drizzle-orm/mysql-core";
import { drizzle, type MySql2Database } from "drizzle-orm/mysql2";
import mysql from "mysql2/promise";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import type { MysqlSessionsTable } from "../../src/stores/drizzle/mysql/index.js";
import { sessionsTable } from "../../src/stores/drizzle/mysql/index.js";
import type { StoreHarness } from "../stores/store-contract.js";

/** The real MySQL/MariaDB server's URL, when the run has one (`describe.skipIf(!mysqlUrl)`). */
export const mysqlUrl = process.env.MYSQL_URL;

/** A fresh MySQL database with a sessions table in it, and a store over it. */
export interface MysqlTestDatabase {
  db: MySql2Database;
  pool: mysql.Pool;
  table: MysqlSessionsTable;
  store: ReturnType<typeof drizzleStore>;
  /** Raw SQL through the pool, `?` params: rows as objects, or the OK packet of a write. */
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The fresh database's URL, to open another client in a test. */
  url: string;
  close(): Promise<void>;
}

export interface MysqlOpenOptions {
  /** A custom table; created with the DDL drizzle-kit generates for it instead of by `migrate()`. */
  table?: MysqlSessionsTable;
  /** Shorthand for `table: sessionsTable("sessions", { columns })`. */
  columns?: Record<string, MySqlColumnBuilderBase>;
  /** Extra mysql2 pool options (e.g. `timezone`). */
  pool?: mysql.PoolOptions;
  /** Statements every new pool connection runs first (e.g. `set time_zone = '+05:00'`). */
  onConnect?: string[];
  /** Skip creating any table. */
  empty?: boolean;
}

/** Creates `tessera_t_<random>` on the server at `url`; vitest runs files in parallel. */
export async function createMysqlDatabase(url: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tessera_t_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = async (statement: string) => {
    const connection = await mysql.createConnection({ uri: url });
    try {
      await connection.query(statement);
    } finally {
      await connection.end();
    }
  };
  await admin(`create database \`${name}\``);
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  return { url: fresh.toString(), drop: () => admin(`drop database if exists \`${name}\``) };
}

/** A fresh database through a mysql2 pool, migrated (or with `options.table` created from drizzle-kit's DDL). */
export async function openMysql(url: string, options: MysqlOpenOptions = {}): Promise<MysqlTestDatabase> {
  const fresh = await createMysqlDatabase(url);
  const pool = mysql.createPool({ uri: fresh.url, connectionLimit: 8, ...options.pool });
  if (options.onConnect !== undefined) {
    const statements = options.onConnect;
    // The pool's 'connection' event hands over the callback-style connection.
    pool.pool.on("connection", (connection) => {
      for (const statement of statements) connection.query(statement);
    });
  }
  const db = drizzle({ client: pool });
  const query = async (text: string, params: unknown[] = []) =>
    (await pool.query(text, params))[0] as unknown as Record<string, unknown>[];
  const close = async () => {
    await pool.end();
    await fresh.drop();
  };
  const custom = options.table ?? (options.columns ? sessionsTable("sessions", { columns: options.columns }) : undefined);
  try {
    if (options.empty) {
      // nothing
    } else if (custom === undefined) await migrate(db);
    else await createMysqlTable(query, custom);
  } catch (error) {
    await close();
    throw error;
  }
  const table = custom ?? sessionsTable();
  const store = drizzleStore({ db, table });
  return { db, pool, table, store, query, url: fresh.url, close };
}

/** Creates `table` with the DDL drizzle-kit generates for it (what a user's `drizzle-kit generate` writes). */
export async function createMysqlTable(query: MysqlTestDatabase["query"], table: MysqlSessionsTable): Promise<void> {
  const { generateMySQLDrizzleJson, generateMySQLMigration } = await import("drizzle-kit/api");
  const statements = await generateMySQLMigration(await generateMySQLDrizzleJson({}), await generateMySQLDrizzleJson({ table }));
  for (const statement of statements) await query(statement);
}

/** The conformance harness over a MySQL test database. */
export function mysqlHarness(database: MysqlTestDatabase): StoreHarness {
  return {
    store: database.store,
    dump: async () => JSON.stringify(await database.query("select * from sessions")),
    count: async () => Number((await database.query("select count(*) as n from sessions"))[0]?.n),
    reset: async () => {
      await database.query("delete from sessions");
    },
    close: () => database.close(),
    // B12: what the columns accept (MariaDB's default sql_mode allows zero dates) but a session cannot be read from.
    garbage: Object.fromEntries(
      Object.entries({
        "expires_at a zero date": "expires_at = '0000-00-00 00:00:00'",
        "created_at a zero date": "created_at = '0000-00-00'",
        "absolute_expires_at a zero date": "absolute_expires_at = '0000-00-00'",
        "updated_at with a zero month": "updated_at = '2024-00-10 00:00:00'",
        "data a JSON array": "data = '[]'",
        "data JSON null": "data = 'null'",
        "data a JSON string": `data = '"{}"'`,
        "data a JSON number": "data = '12'",
      }).map(([kind, set]) => [
        kind,
        async (id: string) => {
          await database.query(`update sessions set ${set} where id = ?`, [id]);
        },
      ]),
    ),
  };
}
