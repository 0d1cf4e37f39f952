import { existsSync } from "node:fs";
import { dirname } from "node:path";
import { pathToFileURL } from "node:url";
import type { MysqlDb, PostgresDb, SqliteDb } from "../stores/drizzle/index.js";
import { classify } from "./database-url.js";
import { describeError, failure, redactUrl, usage } from "./failure.js";

/** The SQL dialect of a connection: which raw SQL a command may run on it. */
export type Dialect = "postgres" | "sqlite" | "mysql";

/** What every connection the CLI opened has, whatever its database. */
interface Opened {
  /** The URL or path as it may be printed (no password). */
  label: string;
  /** Raw SQL through the same client, rows as plain objects. */
  query(text: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

/** A database the CLI opened itself, and so closes itself; `dialect` says which Drizzle db it holds. */
export type Connection =
  | (Opened & { dialect: "postgres"; db: PostgresDb })
  | (Opened & { dialect: "sqlite"; db: SqliteDb })
  | (Opened & { dialect: "mysql"; db: MysqlDb });

/**
 * Opens `--database-url` (the forms of `classify`): Postgres through postgres.js, MySQL and
 * MariaDB through a mysql2 pool, a SQLite file through @libsql/client (no native build step),
 * a PGlite directory through PGlite. A SQLite file or PGlite directory that is not there yet
 * is created only when `create` is set (`migrate`): for the other commands it is a typo, not
 * an empty database. Runs `select 1` before returning, so a wrong host, password, database or
 * file is reported as such and not as the failure of whatever query came first. The drivers
 * are imported here, not at the top, so that each is needed only when its kind of URL is used
 * (all are optional for the package).
 */
export async function connect(url: string | undefined, { create = false } = {}): Promise<Connection> {
  if (url === undefined || url === "") throw usage("no database: pass --database-url <url> or set DATABASE_URL");
  const target = classify(url);
  switch (target.kind) {
    case "postgres":
      return connectPostgres(target.url);
    case "mysql":
      return connectMysql(target.url);
    case "sqlite":
      if (!create && !target.exists) throw failure(`no SQLite database at ${target.path} (tesserae migrate creates one)`);
      // libSQL would say only "Unable to open connection to local database …: 14".
      if (!target.exists && !existsSync(dirname(target.path))) {
        throw failure(`cannot create the SQLite database ${target.path}: its folder ${dirname(target.path)} does not exist`);
      }
      return connectSqlite(target.path);
    case "pglite":
      if (!create && !target.exists) throw failure(`no PGlite database at ${target.path} (tesserae migrate creates one)`);
      return connectPglite(target.path);
  }
}

async function connectPostgres(url: string): Promise<Connection> {
  const label = redactUrl(url);
  const { default: postgres } = await importDriver("postgres", () => import("postgres"));
  const { drizzle } = await importDriver("drizzle-orm", () => import("drizzle-orm/postgres-js"));
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
  return { dialect: "postgres", db: drizzle({ client }), label, query, close };
}

/**
 * A small mysql2 pool: a purge's batches and a revoke's lookups are sequential, 4 is room
 * for the operator's few concurrent reads. One try to connect, 10 s at most, as for Postgres.
 * mysql2 reads the host, user, password, database and options of any `scheme://` URL, so
 * `mariadb://` needs no rewriting.
 */
async function connectMysql(url: string): Promise<Connection> {
  const label = redactUrl(url);
  const mysql = await importDriver("mysql2", () => import("mysql2/promise"));
  const { drizzle } = await importDriver("drizzle-orm", () => import("drizzle-orm/mysql2"));
  let pool: ReturnType<typeof mysql.createPool>;
  try {
    pool = mysql.createPool({ uri: url, connectionLimit: 4, connectTimeout: 10_000 });
  } catch (error) {
    // A URL mysql2 cannot parse (a bad port, a malformed option) is the operator's to fix.
    throw usage(`unusable database URL ${label}: ${describeError(error)}`);
  }
  const opened = pool;
  try {
    await opened.query("select 1");
  } catch (error) {
    await opened.end().catch(() => undefined);
    throw failure(`cannot connect to ${label}: ${describeError(error)}`, error);
  }
  const query = async (text: string) => (await opened.query(text))[0] as Record<string, unknown>[];
  // drizzle(pool, { mode }), not drizzle({ client: pool, mode }): drizzle-orm 0.45's isConfig refuses
  // any object with `mode` (its test can never pass) and takes the whole object for the client,
  // whose first query then fails ("client.query is not a function").
  return { dialect: "mysql", db: drizzle(opened, { mode: "default" }), label, query, close: () => opened.end() };
}

/**
 * A SQLite file through @libsql/client's local mode. A busy timeout so that a purge beside the
 * app waits for the app's write lock instead of failing at once with SQLITE_BUSY.
 */
const BUSY_TIMEOUT_MS = 5000;

async function connectSqlite(path: string): Promise<Connection> {
  const { createClient } = await importDriver("@libsql/client", () => import("@libsql/client"));
  const { drizzle } = await importDriver("drizzle-orm", () => import("drizzle-orm/libsql"));
  let client: ReturnType<typeof createClient> | undefined;
  try {
    // `timeout`, not `pragma busy_timeout`: libSQL opens a new connection after each transaction,
    // and a pragma would hold for the first one only.
    client = createClient({ url: pathToFileURL(path).href, timeout: BUSY_TIMEOUT_MS });
    await client.execute("select 1");
  } catch (error) {
    client?.close();
    throw failure(`cannot open the SQLite database at ${path}: ${describeError(error)}`, error);
  }
  const opened = client;
  const query = async (text: string) => {
    const result = await opened.execute(text);
    // libSQL rows are arrays with the columns as extra properties: plain objects, as the others return.
    return result.rows.map((row) => Object.fromEntries(result.columns.map((column, i) => [column, row[i]])));
  };
  return { dialect: "sqlite", db: drizzle({ client: opened }), label: path, query, close: async () => opened.close() };
}

async function connectPglite(dir: string): Promise<Connection> {
  const { PGlite } = await importDriver("@electric-sql/pglite", () => import("@electric-sql/pglite"));
  const { drizzle } = await importDriver("drizzle-orm", () => import("drizzle-orm/pglite"));
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
  return { dialect: "postgres", db: drizzle({ client: opened }), label: dir, query, close: () => opened.close() };
}

/**
 * A missing optional driver is an install step the operator can take, so it says which. The
 * driver is imported before drizzle's module for it, which imports the driver too: the error
 * then names the package that is missing, not whichever import failed first.
 */
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
