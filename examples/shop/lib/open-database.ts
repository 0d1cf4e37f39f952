/**
 * Opens the database `lib/database.ts` chose, as a Drizzle database of its dialect. Each driver
 * is imported only when its database is used, so the shop on PGlite never loads mysql2 or
 * libSQL (and a missing driver fails only the run that needs it).
 */
import { closeSync, mkdirSync, openSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { MysqlDb, PostgresDb, SqliteDb } from "tesserae/drizzle";
import type { ShopDatabase } from "./database";
import { openEmbedded } from "./embedded-db";

/** A Drizzle database of one dialect, and how to close its client. */
export type OpenDatabase =
  | { dialect: "postgres"; db: PostgresDb; close(): Promise<void> }
  | { dialect: "sqlite"; db: SqliteDb; close(): Promise<void> }
  | { dialect: "mysql"; db: MysqlDb; close(): Promise<void> };

export async function openDatabase(database: ShopDatabase): Promise<OpenDatabase> {
  switch (database.kind) {
    case "pglite": {
      const { drizzle } = await import("drizzle-orm/pglite");
      const client = await openEmbedded(database.location);
      return { dialect: "postgres", db: drizzle({ client }), close: () => client.close() };
    }
    case "postgres": {
      const { default: postgres } = await import("postgres");
      const { drizzle } = await import("drizzle-orm/postgres-js");
      const client = postgres(database.url, { max: 5, onnotice: () => {}, connection: { statement_timeout: 5000 } });
      return { dialect: "postgres", db: drizzle({ client }), close: () => client.end() };
    }
    case "sqlite": {
      const { createClient } = await import("@libsql/client");
      const { drizzle } = await import("drizzle-orm/libsql");
      // A file: URL (percent-encoded), so a path with spaces, `?` or `#` names that file. A busy
      // timeout (libSQL's default is 0: a locked file fails at once), kept below the 5 s storeTimeout
      // because a local client's wait blocks its thread (docs/stores.md, SQLite).
      const client = createClient({ url: pathToFileURL(prepareSqliteFile(database.file)).href, timeout: 2000 });
      return { dialect: "sqlite", db: drizzle({ client }), close: async () => client.close() };
    }
    case "mysql": {
      const { createPool } = await import("mysql2/promise");
      const { drizzle } = await import("drizzle-orm/mysql2");
      // A pool: concurrent requests each take a connection (one connection would serialise them).
      const pool = createPool({ uri: database.url, connectionLimit: 5, connectTimeout: 5000 });
      // A row lock is waited for 2 s, not InnoDB's 50, below the 5 s storeTimeout (docs/stores.md,
      // MySQL). Queued first on each new connection, so it runs before the connection's first query;
      // a variable both MySQL and MariaDB have (MariaDB's max_statement_time is not MySQL's).
      // On the core pool: its event hands over the callback connection (the promise pool's typings
      // say a promise one, which it is not at run time).
      pool.pool.on("connection", (connection) => {
        connection.query("SET SESSION innodb_lock_wait_timeout = 2", () => {});
      });
      // No `mode` option: drizzle-orm 0.45's config check refuses any `mode` and then takes the
      // whole options object for the client ("client.query is not a function" on the first query).
      return { dialect: "mysql", db: drizzle({ client: pool }), close: () => pool.end() };
    }
  }
}

/**
 * Creates a missing SQLite file 0600 (SQLite itself would make it 0644, readable by every local
 * user; its -wal and -shm files take the database file's mode) and its missing folders 0700,
 * as `prepareDataDir` does for PGlite: the file holds every session's data. An empty file is an
 * empty database to SQLite. An existing file is left as it is.
 */
export function prepareSqliteFile(file: string): string {
  // Paths known only at run time: told to Turbopack, which would otherwise trace the whole project.
  mkdirSync(/*turbopackIgnore: true*/ path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(/*turbopackIgnore: true*/ file, "wx", 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  return file;
}
