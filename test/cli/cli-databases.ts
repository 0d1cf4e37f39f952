import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { createDatabase } from "../helpers/databases.js";

/** A connection of the test itself, next to the CLI's. */
export interface Connected {
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>;
  /** Raw SQL, `$1`-style params; cast in SQL (`::int`, `::text`) to get the same types from both drivers. */
  query(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
}

/** One way of spelling the database for `--database-url`, and the working directory it is relative to. */
export interface UrlForm {
  url: string;
  cwd?: string;
}

/** A database of one suite, empty at first (no sessions table: `tesserae migrate` creates it). */
export interface CliDatabase {
  kind: "postgres" | "pglite";
  /** What the CLI gets as `--database-url` (and the config module as DATABASE_URL). */
  url: string;
  /** At least two other spellings of the same database that the contract accepts (the last may be `url`). */
  otherForms: UrlForm[];
  /**
   * Runs `fn` on a connection of the test. PGlite's data directory is single-process, so it is
   * opened for `fn` only and closed before any CLI runs on it.
   */
  use<T>(fn: (connection: Connected) => Promise<T>): Promise<T>;
  /** Closes the test's connection and drops the database (or removes the directory). */
  close(): Promise<void>;
}

/** A fresh `tessera_t_<random>` database on the server at `url`, dropped by `close()`. */
export async function postgresDatabase(url: string): Promise<CliDatabase> {
  const fresh = await createDatabase(url);
  const client = postgres(fresh.url, { max: 2, onnotice: () => {} });
  const connected: Connected = {
    db: drizzlePostgresJs({ client }),
    query: async (text, params = []) => [...(await client.unsafe(text, params as never[]))] as Record<string, unknown>[],
  };
  return {
    kind: "postgres",
    url: fresh.url,
    // `postgresql://` is postgres.js' other scheme; URL refuses to change a special scheme, so by text.
    otherForms: [{ url: fresh.url.replace(/^postgres:/, "postgresql:") }, { url: fresh.url }],
    use: (fn) => fn(connected),
    async close() {
      await client.end({ timeout: 5 });
      await fresh.drop();
    },
  };
}

/**
 * A PGlite data directory inside a fresh temporary directory (not created yet: the CLI's
 * first run creates it), removed by `close()`.
 */
export async function pgliteDatabase(): Promise<CliDatabase> {
  const parent = await mkdtemp(join(tmpdir(), "tessera-cli-"));
  const dir = join(parent, "data");
  return {
    kind: "pglite",
    url: dir,
    otherForms: [{ url: pathToFileURL(dir).href }, { url: `file:${relative(parent, dir)}`, cwd: parent }],
    async use(fn) {
      const client = new PGlite(dir);
      try {
        return await fn({
          db: drizzlePglite({ client }),
          query: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows,
        });
      } finally {
        await client.close();
      }
    },
    close: () => rm(parent, { recursive: true, force: true }),
  };
}
