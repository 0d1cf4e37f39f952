export type {
  MysqlGeneratedColumns,
  MysqlSessionsTable,
  MysqlSessionsTableOf,
  MysqlSessionsTableOptions,
} from "./sessions-table.js";
export { sessionsTable } from "./sessions-table.js";
