import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@libsql/client";
import Database from "better-sqlite3";
import { getTableColumns } from "drizzle-orm";
import { drizzle as drizzleBetterSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import type { SQLiteColumnBuilderBase } from "drizzle-orm/sqlite-core";
import type { SqliteDb } from "../../src/stores/drizzle/index.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import type { SqliteSessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import { sessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import type { StoreHarness } from "../stores/store-contract.js";

export type SqliteDriverName = "libsql-file" | "libsql-memory" | "better-sqlite3";

/** A fresh SQLite database with the sessions table in it, and a store over it. */
export interface SqliteTestDatabase {
  name: SqliteDriverName;
  db: SqliteDb;
  table: SqliteSessionsTable;
  store: ReturnType<typeof drizzleStore>;
  /** Raw SQL through the same client, `?` params; rows as objects. */
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** The database file (file databases only), to open a second client on it. */
  file?: string;
  close(): Promise<void>;
}

export interface SqliteOpenOptions {
  /** A custom table, created from its Drizzle definition (drizzle-kit's DDL) instead of by `migrate()`. */
  table?: SqliteSessionsTable;
  /** Shorthand for `table: sessionsTable("sessions", { columns })`. */
  columns?: Record<string, SQLiteColumnBuilderBase>;
  /** libSQL's busy timeout in ms (its default is 0: fail at once). */
  timeout?: number;
}

/** A temporary folder for a database file, removed by the returned function. */
export function tempDatabaseFile(): { file: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), "tessera-sqlite-"));
  return { file: path.join(dir, "sessions.db"), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A libSQL client on a fresh local file (busy timeout 5 s unless told otherwise). */
export async function openLibsqlFile(options: SqliteOpenOptions = {}): Promise<SqliteTestDatabase> {
  const temp = tempDatabaseFile();
  const client = createClient({ url: `file:${temp.file}`, timeout: options.timeout ?? 5000 });
  const query = async (text: string, params: unknown[] = []) =>
    (await client.execute({ sql: text, args: params as never[] })).rows.map((row) => ({ ...row }));
  return finish(
    "libsql-file",
    drizzleLibsql({ client }),
    query,
    options,
    async () => {
      client.close();
      temp.remove();
    },
    temp.file,
  );
}

/** A libSQL client on `:memory:` (one connection: the database lives on it). */
export async function openLibsqlMemory(options: SqliteOpenOptions = {}): Promise<SqliteTestDatabase> {
  const client = createClient({ url: ":memory:" });
  const query = async (text: string, params: unknown[] = []) =>
    (await client.execute({ sql: text, args: params as never[] })).rows.map((row) => ({ ...row }));
  return finish("libsql-memory", drizzleLibsql({ client }), query, options, async () => client.close());
}

/** better-sqlite3 on a fresh local file (its default busy timeout: 5 s). */
export async function openBetterSqlite(options: SqliteOpenOptions = {}): Promise<SqliteTestDatabase> {
  const temp = tempDatabaseFile();
  const client = new Database(temp.file);
  const query = async (text: string, params: unknown[] = []) => {
    const statement = client.prepare(text);
    if (statement.reader) return statement.all(...params) as Record<string, unknown>[];
    statement.run(...params);
    return [];
  };
  return finish(
    "better-sqlite3",
    drizzleBetterSqlite({ client }),
    query,
    options,
    async () => {
      client.close();
      temp.remove();
    },
    temp.file,
  );
}

async function finish(
  name: SqliteDriverName,
  db: SqliteDb,
  query: SqliteTestDatabase["query"],
  options: SqliteOpenOptions,
  close: () => Promise<void>,
  file?: string,
): Promise<SqliteTestDatabase> {
  const custom = options.table ?? (options.columns ? sessionsTable("sessions", { columns: options.columns }) : undefined);
  try {
    if (custom === undefined) await migrate(db);
    else await createSqliteTable(query, custom);
  } catch (error) {
    await close();
    throw error;
  }
  const table = custom ?? sessionsTable();
  const store = drizzleStore({ db, table });
  return { name, db, table, store, query, close, ...(file === undefined ? {} : { file }) };
}

/** Creates `table` with the DDL drizzle-kit generates for it, as a user's `drizzle-kit generate` would. */
export async function createSqliteTable(query: SqliteTestDatabase["query"], table: SqliteSessionsTable): Promise<void> {
  for (const statement of await sqliteDdl(table)) await query(statement);
}

/** drizzle-kit's DDL for `table` on an empty SQLite database. */
export async function sqliteDdl(table: SqliteSessionsTable): Promise<string[]> {
  const { generateSQLiteDrizzleJson, generateSQLiteMigration } = await import("drizzle-kit/api");
  return generateSQLiteMigration(await generateSQLiteDrizzleJson({}), await generateSQLiteDrizzleJson({ table }));
}

/** The conformance harness over a SQLite test database: raw SQL views of the sessions table. */
export function sqliteHarness(database: SqliteTestDatabase): StoreHarness {
  return {
    store: database.store,
    // Data as bytes decoded here: a row planted with text that is not UTF-8 must not stop the dump.
    dump: async () =>
      JSON.stringify(
        (await database.query("select id, cast(data as blob) as data, expires_at, successor_id from sessions")).map((row) => ({
          ...row,
          data: Buffer.from(row.data as ArrayBuffer).toString("utf8"),
        })),
      ),
    count: async () => Number((await database.query("select count(*) as n from sessions"))[0]?.n),
    reset: async () => {
      await database.query("delete from sessions");
    },
    close: () => database.close(),
    // B12: what SQLite's loose typing lets into the columns but a session cannot be read from.
    // With an indexed column, SQLite itself refuses data its json_extract cannot read (the
    // generated column is computed on write), so only the JSON that parses can be planted there.
    garbage: Object.fromEntries(
      Object.entries(sqliteGarbage)
        .filter(([kind]) => !(hasIndexedColumns(database.table) && unparseableData.includes(kind)))
        .map(([kind, set]) => [
          kind,
          async (id: string) => {
            await database.query(`update sessions set ${set} where id = ?`, [id]);
          },
        ]),
    ),
  };
}

const unparseableData = ["data not JSON", "data a blob", "data text that is not UTF-8"];
const hasIndexedColumns = (table: SqliteSessionsTable) =>
  Object.values(getTableColumns(table)).some((column) => column.generated !== undefined);

/** SET clauses that make a row unreadable, by name. */
export const sqliteGarbage: Record<string, string> = {
  "expires_at text 'infinity'": "expires_at = 'infinity'",
  "created_at a fraction": "created_at = 1767268800000.5",
  "absolute_expires_at past the Date range": "absolute_expires_at = 9000000000000000",
  "updated_at past 64-bit floats' integers": "updated_at = 9223372036854775807",
  "updated_at a blob": "updated_at = x'00'",
  "rev text": "rev = 'one'",
  "schema_version a fraction": "schema_version = 1.5",
  "successor_id a blob": "successor_id = x'01'",
  "data not JSON": "data = 'garbage'",
  "data a JSON array": "data = '[]'",
  "data JSON null": "data = 'null'",
  "data a JSON string": `data = '"{}"'`,
  "data a blob": "data = x'7b7d'",
  "data text that is not UTF-8": `data = cast(x'7b2261223a7b226a736f6e223a22ff227d7d' as text)`,
};
