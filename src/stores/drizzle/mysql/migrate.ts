import { MySqlDialect, type MySqlSession } from "drizzle-orm/mysql-core";
import type { MysqlDb } from "../dialects.js";
import type { MigrateOptions } from "../migrate-options.js";
import { readMigrationsFolder } from "../migrations-folder.js";
import { migrations } from "./migrations.js";

/**
 * `migrate` on a Drizzle MySQL/MariaDB database: the package's `drizzle/mysql/` migrations
 * (embedded as code) or the app's `migrationsFolder`, through drizzle's own MySQL migrator, which
 * skips what its table already records. MySQL has no schemas apart from databases, so
 * `migrationsSchema` is not used: the table lives in the connection's database. MySQL commits
 * DDL as it runs it: a migration that fails halfway leaves the statements before the failure.
 */
export async function migrateMysql(db: MysqlDb, options: MigrateOptions): Promise<void> {
  const folder = options.migrationsFolder;
  const config = {
    migrationsFolder: folder ?? "",
    migrationsTable: options.migrationsTable ?? (folder === undefined ? "__tessera_migrations" : "__drizzle_migrations"),
  };
  const list =
    folder === undefined
      ? migrations.map(({ sql, folderMillis, hash, bps }) => ({ sql: [...sql], folderMillis, hash, bps }))
      : await readMigrationsFolder(folder);
  // What drizzle's mysql2 `migrate()` does, with a dialect of our own: `db.session` is internal.
  const session = (db as unknown as { session: MySqlSession }).session;
  await new MySqlDialect().migrate(list, session, config);
}
