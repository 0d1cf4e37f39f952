import type { PgDatabase, PgQueryResultHKT, PgSession } from "drizzle-orm/pg-core";
import { PgDialect } from "drizzle-orm/pg-core";
import { migrations } from "./migrations.js";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Table recording which migrations ran. @default "__tessera_migrations" */
  migrationsTable?: string;
  /** Schema of that table (created if missing). @default "drizzle" */
  migrationsSchema?: string;
}

/**
 * Applies the package's SQL migrations (the default `sessions` table; the same SQL as the
 * shipped `drizzle/` folder) to any Drizzle Postgres database: postgres-js, node-postgres or
 * PGlite. Migrations already recorded in `migrationsTable` are skipped, so running it again is
 * a no-op. Pending migrations run in one transaction: all of them apply or none does. Two
 * processes migrating the same database at the same moment are not serialised: run it from
 * one place (a deploy step or `tesserae migrate`).
 *
 * The SQL is part of the code, not read from disk, so an app bundled by Next (webpack or
 * Turbopack), or any bundler, can call it.
 *
 * @example
 * await migrate(db);
 * const store = drizzleStore({ db });
 */
export async function migrate(
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>,
  options: MigrateOptions = {},
): Promise<void> {
  const config = {
    migrationsFolder: "", // required by the type, never read: the dialect is given the migrations
    migrationsTable: options.migrationsTable ?? "__tessera_migrations",
    migrationsSchema: options.migrationsSchema ?? "drizzle",
  };
  // What every drizzle pg `migrate()` does, with a dialect of our own because `db.dialect` is
  // internal. The migrator only runs raw SQL, so the session's schema generics do not matter.
  // It is given copies: its MigrationMeta is mutable, the shipped list is not.
  const list = migrations.map(({ sql, folderMillis, hash, bps }) => ({ sql: [...sql], folderMillis, hash, bps }));
  await new PgDialect().migrate(list, db._.session as PgSession, config);
}
