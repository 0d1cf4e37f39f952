import { SessionConfigError } from "../../../errors.js";
import type { DrizzleSessionStore, SqliteDb } from "../dialects.js";
import type { SqliteSessionsTable } from "./sessions-table.js";

/** `drizzleStore` on a Drizzle sqlite database. */
export function sqliteStore(_db: SqliteDb, _table: SqliteSessionsTable | undefined): DrizzleSessionStore {
  throw new SessionConfigError("drizzleStore: the sqlite dialect is not built yet");
}
