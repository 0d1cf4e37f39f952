import { SessionConfigError } from "../../../errors.js";

/** Placeholder until the mysql dialect lands: any table built by {@link sessionsTable}. */
export type MysqlSessionsTable = { readonly __mysqlSessionsTable: true };

/** Builds the mysql sessions table. */
export function sessionsTable(): MysqlSessionsTable {
  throw new SessionConfigError("sessionsTable: the mysql dialect is not built yet");
}
