import { SessionConfigError } from "../../../errors.js";
import type { DrizzleSessionStore, MysqlDb } from "../dialects.js";
import type { MysqlSessionsTable } from "./sessions-table.js";

/** `drizzleStore` on a Drizzle mysql database. */
export function mysqlStore(_db: MysqlDb, _table: MysqlSessionsTable | undefined): DrizzleSessionStore {
  throw new SessionConfigError("drizzleStore: the mysql dialect is not built yet");
}
