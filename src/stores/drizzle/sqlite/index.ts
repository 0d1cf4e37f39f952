export type {
  SqliteBaseColumns,
  SqliteGeneratedColumns,
  SqliteSessionsTable,
  SqliteSessionsTableOf,
  SqliteSessionsTableOptions,
} from "./sessions-table.js";
export { sessionsTable } from "./sessions-table.js";
