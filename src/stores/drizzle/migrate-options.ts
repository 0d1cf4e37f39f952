/** Options of `migrate`, on every dialect. */
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
  /**
   * Schema of that table (created if missing), on Postgres. Does not apply to SQLite, which has
   * no schemas: the table lives in the database itself.
   * @default "drizzle"
   */
  migrationsSchema?: string;
}
