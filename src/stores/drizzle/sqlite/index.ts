export type { SqliteSessionsTable } from "./sessions-table.js";
export { sessionsTable } from "./sessions-table.js";
