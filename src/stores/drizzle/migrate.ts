import { is } from "drizzle-orm";
import { MySqlDatabase } from "drizzle-orm/mysql-core";
import type { PgSession } from "drizzle-orm/pg-core";
import { PgDatabase, PgDialect } from "drizzle-orm/pg-core";
import { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import { SessionConfigError } from "../../errors.js";
import type { MysqlDb, PostgresDb, SqliteDb } from "./dialects.js";
import type { MigrateOptions } from "./migrate-options.js";
import { migrations } from "./migrations.js";
import { readMigrationsFolder } from "./migrations-folder.js";
import { migrateMysql } from "./mysql/migrate.js";
import { migrateSqlite } from "./sqlite/migrate.js";

/**
 * Applies SQL migrations to a Drizzle database of any dialect: Postgres (postgres-js,
 * node-postgres, PGlite), SQLite (libSQL, better-sqlite3) or MySQL/MariaDB (mysql2). Without
 * `migrationsFolder`, the package's own for that dialect (the default `sessions` table; the same
 * SQL as the shipped `drizzle/<dialect>/` folder); with it, your app's drizzle-kit migrations. Migrations
 * already recorded in `migrationsTable` are skipped, so running it again is a no-op. Pending
 * migrations run in one transaction: all of them apply or none does. Two processes migrating
 * the same database at the same moment are not serialised: run it from one place (a deploy
 * step or `tesserae migrate`).
 *
 * The package's SQL is part of the code, not read from disk, so an app bundled by Next
 * (webpack or Turbopack), or any bundler, can call it; `migrationsFolder` is read from disk.
 *
 * @throws SessionConfigError when `db` is not a Drizzle database of a supported dialect, or
 *   `migrationsFolder` holds no drizzle-kit migrations.
 * @example
 * await migrate(db);
 * const store = drizzleStore({ db });
 * @example
 * // An app that owns its sessions table (db/schema.ts exports sessionsTable(...)):
 * await migrate(db, { migrationsFolder: "drizzle" });
 * const store = drizzleStore({ db, table: sessions });
 */
export async function migrate(db: PostgresDb | SqliteDb | MysqlDb, options: MigrateOptions = {}): Promise<void> {
  if (is(db, PgDatabase)) return migratePostgres(db as PostgresDb, options);
  if (is(db, BaseSQLiteDatabase)) return migrateSqlite(db as SqliteDb, options);
  if (is(db, MySqlDatabase)) return migrateMysql(db as MysqlDb, options);
  throw new SessionConfigError("migrate: `db` must be a Drizzle database (Postgres, SQLite or MySQL)");
}

async function migratePostgres(db: PostgresDb, options: MigrateOptions): Promise<void> {
  const folder = options.migrationsFolder;
  const config = {
    migrationsFolder: folder ?? "", // required by the type, never read: the dialect is given the migrations
    migrationsTable: options.migrationsTable ?? (folder === undefined ? "__tessera_migrations" : "__drizzle_migrations"),
    migrationsSchema: options.migrationsSchema ?? "drizzle",
  };
  // Copies of the shipped list: the migrator's MigrationMeta is mutable, the shipped list is not.
  const list =
    folder === undefined
      ? migrations.map(({ sql, folderMillis, hash, bps }) => ({ sql: [...sql], folderMillis, hash, bps }))
      : await readMigrationsFolder(folder);
  // What every drizzle pg `migrate()` does, with a dialect of our own because `db.dialect` is
  // internal. The migrator only runs raw SQL, so the session's schema generics do not matter.
  await new PgDialect().migrate(list, db._.session as PgSession, config);
}
