import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { describeError, failure, redactUrl, usage } from "./failure.js";

/** Any Drizzle Postgres database, as `drizzleStore` and `migrate` take it. */
export type Db = PgDatabase<PgQueryResultHKT, Record<string, unknown>>;

/** A database the CLI opened itself, and so closes itself. */
export interface Connection {
  db: Db;
  /** The URL or directory as it may be printed (no password). */
  label: string;
  /** Raw SQL through the same client, rows as plain objects. */
  query(text: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/**
 * Opens `--database-url`: `postgres://`/`postgresql://` through postgres.js, anything else
 * (`file:` URL or a path) as a PGlite data directory, created only when `create` is set. Runs `select 1` before returning, so a
 * wrong host, password or database is reported as such and not as the failure of whatever
 * query came first. The drivers are imported here, not at the top, so that each is needed only
 * when its kind of URL is used (both are optional for the package).
 */
export async function connect(url: string | undefined, { create = false } = {}): Promise<Connection> {
  if (url === undefined || url === "") throw usage("no database: pass --database-url <url> or set DATABASE_URL");
  return /^postgres(ql)?:\/\//i.test(url) ? connectPostgres(url) : connectPglite(url, create);
}

async function connectPostgres(url: string): Promise<Connection> {
  const label = redactUrl(url);
  const [{ default: postgres }, { drizzle }] = await Promise.all([
    importDriver("postgres", () => import("postgres")),
    import("drizzle-orm/postgres-js"),
  ]);
  // Notices ("relation already exists, skipping" during migrate) are not for the operator.
  const client = postgres(url, { max: 4, onnotice: () => {}, connect_timeout: 10 });
  const close = () => client.end({ timeout: 5 });
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 0 }).catch(() => undefined);
    throw failure(`cannot connect to ${label}: ${describeError(error)}`, error);
  }
  const query = async (text: string) => [...(await client.unsafe(text))] as Record<string, unknown>[];
  return { db: drizzle({ client }), label, query, close };
}

/**
 * PGlite creates a database in any directory it is given. Only `migrate` (`create`) may do
 * that: for the other commands a missing directory is a typo, not an empty database.
 */
async function connectPglite(url: string, create: boolean): Promise<Connection> {
  const dir = pgliteDirectory(url);
  if (!create && !existsSync(dir)) throw failure(`no PGlite database at ${dir} (tesserae migrate creates one)`);
  const [{ PGlite }, { drizzle }] = await Promise.all([
    importDriver("@electric-sql/pglite", () => import("@electric-sql/pglite")),
    import("drizzle-orm/pglite"),
  ]);
  let client: InstanceType<typeof PGlite> | undefined;
  try {
    client = new PGlite(dir);
    await client.query("select 1");
  } catch (error) {
    await client?.close().catch(() => undefined);
    throw failure(`cannot open the PGlite database at ${dir}: ${describeError(error)}`, error);
  }
  const opened = client;
  const query = async (text: string) => (await opened.query<Record<string, unknown>>(text)).rows;
  return { db: drizzle({ client: opened }), label: dir, query, close: () => opened.close() };
}

/** `file:///abs/dir`, `file:rel/dir` (relative to the working directory) or a plain path → a directory. */
function pgliteDirectory(url: string): string {
  let path = url;
  if (/^file:\/\//i.test(url)) path = fileURLToPath(url);
  else if (/^file:/i.test(url)) path = url.slice("file:".length);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw usage(`unsupported database URL ${redactUrl(url)}: use postgres://, postgresql://, file: or a directory`);
  }
  return isAbsolute(path) ? path : resolve(path);
}

/** A missing optional driver is an install step the operator can take, so it says which. */
async function importDriver<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_MODULE_NOT_FOUND") {
      throw failure(`this database URL needs the "${name}" package: npm install ${name}`, error);
    }
    throw error;
  }
}
