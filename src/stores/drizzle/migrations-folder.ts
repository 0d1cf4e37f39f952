import type { MigrationMeta } from "drizzle-orm/migrator";
import { SessionConfigError } from "../../errors.js";

/**
 * An app's drizzle-kit migrations folder (the `out` of its drizzle.config), read as drizzle's
 * own migrators read it: drizzle-orm's `readMigrationFiles`, so each migration's hash and time
 * are the ones `drizzle-kit migrate` records and the two can share a history.
 *
 * `drizzle-orm/migrator` reads files with `node:fs`: it is imported here, when a folder is
 * given, and never on the default path of `migrate(db)`, whose SQL is part of the code (see
 * docs/decisions.md, "Next and migrations in bundles"). Bundlers are told to leave the import
 * to Node, and the folder is a plain string, read at run time.
 *
 * @throws SessionConfigError when `folder` is empty or holds no readable drizzle-kit journal
 *   and migrations (drizzle's own message is kept as the cause).
 */
export async function readMigrationsFolder(folder: string): Promise<MigrationMeta[]> {
  if (folder.trim() === "") throw new SessionConfigError("migrate: migrationsFolder is empty");
  // Left for Node to resolve at run time, not followed by the app's bundler: a bundled copy of
  // drizzle-orm/migrator brings node:fs into every graph that imports tesserae/drizzle, and an
  // edge-runtime build of such a graph fails even though this line never runs there.
  const { readMigrationFiles } = await import(
    /* webpackIgnore: true */ /* turbopackIgnore: true */ /* @vite-ignore */ "drizzle-orm/migrator"
  );
  try {
    return readMigrationFiles({ migrationsFolder: folder });
  } catch (error) {
    throw new SessionConfigError(
      `migrate: ${JSON.stringify(folder)} is not a drizzle-kit migrations folder (meta/_journal.json and its .sql files)`,
      { cause: error },
    );
  }
}
