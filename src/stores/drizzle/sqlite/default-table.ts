import { sessionsTable } from "./sessions-table.js";

/**
 * The default SQLite sessions table (`sessions`, no indexed fields): the schema that the shipped
 * `drizzle/sqlite/` migrations create and `drizzle.sqlite.config.ts` points drizzle-kit at.
 */
export const sessions = sessionsTable();
