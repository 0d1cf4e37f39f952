import { SessionConfigError } from "../../../errors.js";

/** Placeholder until the sqlite dialect lands: any table built by {@link sessionsTable}. */
export type SqliteSessionsTable = { readonly __sqliteSessionsTable: true };

/** Builds the sqlite sessions table. */
export function sessionsTable(): SqliteSessionsTable {
  throw new SessionConfigError("sessionsTable: the sqlite dialect is not built yet");
}
