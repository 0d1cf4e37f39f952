import { sessionsTable } from "./sessions-table.js";

/**
 * The default MySQL sessions table (`sessions`, no indexed fields): the schema that the shipped
 * `drizzle/mysql/` migrations create and `drizzle.mysql.config.ts` points drizzle-kit at.
 */
export const sessions = sessionsTable();
