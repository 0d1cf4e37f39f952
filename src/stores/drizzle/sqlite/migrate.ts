import { SessionConfigError } from "../../../errors.js";
import type { SqliteDb } from "../dialects.js";
import type { MigrateOptions } from "../migrate-options.js";

/** `migrate` on a Drizzle sqlite database. */
export async function migrateSqlite(_db: SqliteDb, _options: MigrateOptions): Promise<void> {
  throw new SessionConfigError("migrate: the sqlite dialect is not built yet");
}
