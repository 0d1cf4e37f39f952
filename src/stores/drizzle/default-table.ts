import { sessionsTable } from "./sessions-table.js";

/**
 * The default sessions table (`sessions`, no indexed fields): the schema that the shipped
 * `drizzle/` migrations create and `drizzle.config.ts` points drizzle-kit at.
 * @example
 * const store = drizzleStore({ db, table: sessions });
 */
export const sessions = sessionsTable();
