import type { MySqlDatabase, MySqlQueryResultHKT, PreparedQueryHKTBase } from "drizzle-orm/mysql-core";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type { SessionStore } from "../../store.js";

/** Any Drizzle Postgres database: postgres-js, node-postgres, PGlite. */
export type PostgresDb = PgDatabase<PgQueryResultHKT, Record<string, unknown>>;

/** Any Drizzle SQLite database: libSQL/Turso (`drizzle-orm/libsql`, async) or better-sqlite3 (sync). */
export type SqliteDb = BaseSQLiteDatabase<"sync" | "async", unknown, Record<string, unknown>>;

/** Any Drizzle MySQL database: mysql2 against MySQL or MariaDB. */
export type MysqlDb = MySqlDatabase<MySqlQueryResultHKT, PreparedQueryHKTBase, Record<string, unknown>>;

/**
 * What `drizzleStore` returns on every dialect: the store seam with the operator queries the
 * CLI uses (`stats`, `countExpired`, `vacuum`) and the store's own size measure (`entryBytes`).
 */
export type DrizzleSessionStore = SessionStore & Required<Pick<SessionStore, "entryBytes" | "stats" | "countExpired" | "vacuum">>;
