import type { PgDatabase, PgQueryResultHKT, PgSession } from "drizzle-orm/pg-core";
import { PgDialect } from "drizzle-orm/pg-core";

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /** Table recording which migrations ran. @default "__tessera_migrations" */
  migrationsTable?: string;
  /** Schema of that table (created if missing). @default "drizzle" */
  migrationsSchema?: string;
}

/**
 * Applies the SQL migrations shipped in the package's `drizzle/` folder (the default
 * `sessions` table) to any Drizzle Postgres database: postgres-js, node-postgres or PGlite.
 * Migrations already recorded in `migrationsTable` are skipped, so running it again is a
 * no-op. Pending migrations run in one transaction: all of them apply or none does. Two
 * processes migrating the same database at the same moment are not serialised: run it from
 * one place (a deploy step or `tessera migrate`).
 *
 * @example
 * await migrate(db);
 * const store = drizzleStore({ db });
 */
export async function migrate(
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>,
  options: MigrateOptions = {},
): Promise<void> {
  // Loaded here, not at the top: both need Node's fs/url, and `tessera/drizzle` must stay
  // importable from edge runtimes that only ever use the store.
  const [{ readMigrationFiles }, { fileURLToPath }] = await Promise.all([import("drizzle-orm/migrator"), import("node:url")]);
  // src/stores/drizzle/ and dist/stores/drizzle/ are both three levels below the package root.
  const migrationsFolder = fileURLToPath(new URL("../../../drizzle", import.meta.url));
  const config = {
    migrationsFolder,
    migrationsTable: options.migrationsTable ?? "__tessera_migrations",
    migrationsSchema: options.migrationsSchema ?? "drizzle",
  };
  // What every drizzle pg `migrate()` does, with a dialect of our own because `db.dialect` is
  // internal. The migrator only runs raw SQL, so the session's schema generics do not matter.
  await new PgDialect().migrate(readMigrationFiles(config), db._.session as PgSession, config);
}
