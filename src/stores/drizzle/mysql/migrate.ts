import { SessionConfigError } from "../../../errors.js";
import type { MysqlDb } from "../dialects.js";
import type { MigrateOptions } from "../migrate-options.js";

/** `migrate` on a Drizzle mysql database. */
export async function migrateMysql(_db: MysqlDb, _options: MigrateOptions): Promise<void> {
  throw new SessionConfigError("migrate: the mysql dialect is not built yet");
}
