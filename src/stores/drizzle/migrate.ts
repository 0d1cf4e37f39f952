import type { PgDatabase, PgQueryResultHKT, PgSession } from "drizzle-orm/pg-core";
import { PgDialect } from "drizzle-orm/pg-core";
import { migrations } from "./migrations.js";
import { readMigrationsFolder } from "./migrations-folder.js";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * Your app's drizzle-kit migrations folder (the `out` of its drizzle.config, e.g.
   * `"drizzle"`), applied instead of the package's own: for an app whose Drizzle schema holds
   * its `sessionsTable(...)` and whose migrations create it. Relative to the working directory.
   * Read at run time with drizzle-orm's `readMigrationFiles`, loaded only when this is set, so
   * a bundled app needs the folder on disk where it runs, not in its bundle.
   * @default undefined: the package's migrations (the default `sessions` table), shipped as code
   */
  migrationsFolder?: string;
  /**
   * Table recording which migrations ran.
   * @default "__tessera_migrations"; with `migrationsFolder`, "__drizzle_migrations" (drizzle-kit's
   *   own, so `drizzle-kit migrate` and this call keep one history)
   */
  migrationsTable?: string;
  /** Schema of that table (created if missing). @default "drizzle" */
  migrationsSchema?: string;
}

/**
 * Applies SQL migrations to any Drizzle Postgres database: postgres-js, node-postgres or
 * PGlite. Without `migrationsFolder`, the package's own (the default `sessions` table; the same
 * SQL as the shipped `drizzle/` folder); with it, your app's drizzle-kit migrations. Migrations
 * already recorded in `migrationsTable` are skipped, so running it again is a no-op. Pending
 * migrations run in one transaction: all of them apply or none does. Two processes migrating
 * the same database at the same moment are not serialised: run it from one place (a deploy
 * step or `tesserae migrate`).
 *
 * The package's SQL is part of the code, not read from disk, so an app bundled by Next
 * (webpack or Turbopack), or any bundler, can call it; `migrationsFolder` is read from disk.
 *
 * @throws SessionConfigError when `migrationsFolder` holds no drizzle-kit migrations.
 * @example
 * await migrate(db);
 * const store = drizzleStore({ db });
 * @example
 * // An app that owns its sessions table (db/schema.ts exports sessionsTable(...)):
 * await migrate(db, { migrationsFolder: "drizzle" });
 * const store = drizzleStore({ db, table: sessions });
 */
export async function migrate(
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>,
  options: MigrateOptions = {},
): Promise<void> {
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
