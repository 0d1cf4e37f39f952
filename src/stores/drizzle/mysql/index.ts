export type { MysqlSessionsTable } from "./sessions-table.js";
export { sessionsTable } from "./sessions-table.js";
