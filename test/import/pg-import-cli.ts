/** The built `tesserae import --from connect-pg-simple` on the pg-app.ts fixture config, as the Postgres tests run it. */
import { join } from "node:path";
import { tessera } from "../cli/cli.js";
import type { TestDatabase } from "../helpers/databases.js";

export const pgAppConfig = join(import.meta.dirname, "fixtures", "pg-app.ts");

/** What pg-app.ts reads: the legacy table and the Tessera store on one database, and the legacy secret. */
export const pgImportEnv = (database: TestDatabase, secret: string) => ({
  DATABASE_URL: database.url as string,
  IMPORT_TESSERA_DATABASE_URL: database.url as string,
  IMPORT_SECRET: secret,
});

/** Getters, because the tests open the database and the temp dir in beforeAll. */
export const pgImportCli =
  (options: { table: string; secret: string; database: () => TestDatabase; dir: () => string }) =>
  (...args: string[]) =>
    tessera(["import", "--config", pgAppConfig, "--from", "connect-pg-simple", "--table", options.table, "--json", ...args], {
      env: pgImportEnv(options.database(), options.secret),
      cwd: options.dir(),
      timeoutMs: 120_000,
    });
