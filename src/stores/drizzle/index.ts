export type { DrizzleStoreOptions } from "./drizzle-store.js";
export { drizzleStore } from "./drizzle-store.js";
export type { MigrateOptions } from "./migrate.js";
export { migrate } from "./migrate.js";
export type { GeneratedColumns, SessionsTable, SessionsTableOf, SessionsTableOptions } from "./sessions-table.js";
export { sessionsTable } from "./sessions-table.js";
