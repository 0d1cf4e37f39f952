export type { DrizzleSessionStore, MysqlDb, PostgresDb, SqliteDb } from "./dialects.js";
export type { DrizzleStoreOptions, MysqlDrizzleStoreOptions, SqliteDrizzleStoreOptions } from "./drizzle-store.js";
export { drizzleStore } from "./drizzle-store.js";
export { migrate } from "./migrate.js";
export type { MigrateOptions } from "./migrate-options.js";
export type { GeneratedColumns, SessionsTable, SessionsTableOf, SessionsTableOptions } from "./sessions-table.js";
export { sessionsTable } from "./sessions-table.js";
