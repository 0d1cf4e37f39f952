import { is } from "drizzle-orm";
import { MySqlDatabase } from "drizzle-orm/mysql-core";
import { PgDatabase } from "drizzle-orm/pg-core";
import { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { SessionConfigError } from "../../errors.js";
import type { DrizzleSessionStore, MysqlDb, PostgresDb, SqliteDb } from "./dialects.js";
import { mysqlStore } from "./mysql/mysql-store.js";
import type { MysqlSessionsTable } from "./mysql/sessions-table.js";
import { postgresStore } from "./postgres-store.js";
import type { SessionsTable } from "./sessions-table.js";
import type { SqliteSessionsTable } from "./sqlite/sessions-table.js";
import { sqliteStore } from "./sqlite/sqlite-store.js";

/** Options of {@link drizzleStore} on a Postgres database. */
export interface DrizzleStoreOptions {
  /**
   * Any Drizzle Postgres database (postgres-js, node-postgres, PGlite). You own it: Tessera never
   * connects or closes it. Give its pool a `statement_timeout`/`lock_timeout` and handle its
   * `'error'` events (node-postgres), so a stuck or restarted server cannot hang or crash you.
   */
  db: PostgresDb;
  /** A table built by `sessionsTable(...)` from `tesserae/drizzle`, migrated by you. @default the `sessions` table of `migrate()` */
  table?: SessionsTable;
}

/** Options of {@link drizzleStore} on a SQLite database. */
export interface SqliteDrizzleStoreOptions {
  /** Any Drizzle SQLite database: libSQL/Turso (`drizzle-orm/libsql`) or better-sqlite3. You own it. */
  db: SqliteDb;
  /** A table built by `sessionsTable(...)` from `tesserae/drizzle/sqlite`. @default the `sessions` table of `migrate()` */
  table?: SqliteSessionsTable;
}

/** Options of {@link drizzleStore} on a MySQL or MariaDB database. */
export interface MysqlDrizzleStoreOptions {
  /** A Drizzle mysql2 database (a pool is best: concurrent requests each take a connection). You own it. */
  db: MysqlDb;
  /** A table built by `sessionsTable(...)` from `tesserae/drizzle/mysql`. @default the `sessions` table of `migrate()` */
  table?: MysqlSessionsTable;
}

/**
 * Session store over a Drizzle database of any dialect: Postgres, SQLite or MySQL/MariaDB,
 * told apart by the database object itself. Every dialect keeps the same promises (the store
 * seam's): per-key patches applied atomically, update-only saves, atomic rotation, batched
 * purges. How each dialect keeps them is in docs/decisions.md ("Drizzle dialects").
 *
 * @throws SessionConfigError when `db` is not a Drizzle database of a supported dialect, or
 *   `table` is not a sessions table of that dialect.
 * @example
 * import { drizzle } from "drizzle-orm/postgres-js";
 * const store = drizzleStore({ db: drizzle(process.env.DATABASE_URL!) });
 * @example
 * import { drizzle } from "drizzle-orm/libsql";
 * const store = drizzleStore({ db: drizzle("file:sessions.db") });
 */
// The Postgres overload last: `Parameters<typeof drizzleStore>` reads the last one, and apps
// written before the other dialects (the demo shop among them) typed their `db` that way.
export function drizzleStore(options: SqliteDrizzleStoreOptions): DrizzleSessionStore;
export function drizzleStore(options: MysqlDrizzleStoreOptions): DrizzleSessionStore;
export function drizzleStore(options: DrizzleStoreOptions): DrizzleSessionStore;
export function drizzleStore(
  options: DrizzleStoreOptions | SqliteDrizzleStoreOptions | MysqlDrizzleStoreOptions,
): DrizzleSessionStore {
  const { db, table } = (options ?? {}) as { db?: unknown; table?: unknown };
  if (is(db, PgDatabase)) return postgresStore(db as PostgresDb, table as SessionsTable | undefined);
  if (is(db, BaseSQLiteDatabase)) return sqliteStore(db as SqliteDb, table as SqliteSessionsTable | undefined);
  if (is(db, MySqlDatabase)) return mysqlStore(db as MysqlDb, table as MysqlSessionsTable | undefined);
  throw new SessionConfigError("drizzleStore: `db` must be a Drizzle database (Postgres, SQLite or MySQL)");
}
