import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { createClient } from "@libsql/client";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import { drizzle as drizzleMysql } from "drizzle-orm/mysql2";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import { createConnection, createPool } from "mysql2/promise";
import postgres from "postgres";
import type { MysqlDb, PostgresDb, SqliteDb } from "../../src/stores/drizzle/index.js";
import { createDatabase } from "../helpers/databases.js";
import { type Query, type SuiteSql, suiteSql } from "./cli-dialect-sql.js";

/** A connection of the test itself, next to the CLI's. */
export interface Connected {
  db: PostgresDb | SqliteDb | MysqlDb;
  /** Raw SQL, `$1`-style params on Postgres, `?` on SQLite and MySQL. */
  query: Query;
  /** The suite's SQL in the database's dialect, through `query`. */
  sql: SuiteSql;
}

/** One way of spelling the database for `--database-url`, and the working directory it is relative to. */
export interface UrlForm {
  url: string;
  cwd?: string;
}

/** A database of one suite, empty at first (no sessions table: `tesserae migrate` creates it). */
export interface CliDatabase {
  kind: "postgres" | "pglite" | "sqlite" | "mysql";
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
  const query: Query = async (text, params = []) =>
    [...(await client.unsafe(text, params as never[]))] as Record<string, unknown>[];
  const connected: Connected = { db: drizzlePostgresJs({ client }), query, sql: suiteSql("postgres", query) };
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
        const query: Query = async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows;
        return await fn({ db: drizzlePglite({ client }), query, sql: suiteSql("postgres", query) });
      } finally {
        await client.close();
      }
    },
    close: () => rm(parent, { recursive: true, force: true }),
  };
}

/**
 * A SQLite file `sessions.db` inside a fresh temporary directory (not created yet: the CLI's
 * `migrate` creates it), removed by `close()`. The test's libSQL client opens it for each `use`,
 * as an app beside the CLI would, with the same busy timeout as the CLI.
 */
export async function sqliteDatabase(): Promise<CliDatabase> {
  const parent = await mkdtemp(join(tmpdir(), "tessera-cli-"));
  const file = join(parent, "sessions.db");
  return {
    kind: "sqlite",
    url: file,
    otherForms: [
      { url: pathToFileURL(file).href },
      { url: `file:${relative(parent, file)}`, cwd: parent },
      { url: "sessions.db", cwd: parent },
    ],
    async use(fn) {
      const client = createClient({ url: pathToFileURL(file).href, timeout: 5000 });
      try {
        const query: Query = async (text, params = []) => {
          const result = await client.execute({ sql: text, args: params as never[] });
          return result.rows.map((row) => Object.fromEntries(result.columns.map((column, i) => [column, row[i]])));
        };
        return await fn({ db: drizzleLibsql({ client }), query, sql: suiteSql("sqlite", query) });
      } finally {
        client.close();
      }
    },
    close: () => rm(parent, { recursive: true, force: true }),
  };
}

/** A fresh `tessera_t_<random>` database on the MySQL/MariaDB server at `url`, dropped by `close()`. */
export async function mysqlDatabase(url: string): Promise<CliDatabase> {
  const name = `tessera_t_${crypto.randomUUID().replaceAll("-", "")}`;
  const admin = async (statement: string) => {
    const connection = await createConnection({ uri: url });
    try {
      await connection.query(statement);
    } finally {
      await connection.end();
    }
  };
  await admin(`create database \`${name}\``);
  const fresh = new URL(url);
  fresh.pathname = `/${name}`;
  const pool = createPool({ uri: fresh.toString(), connectionLimit: 2 });
  const query: Query = async (text, params) => (await pool.query(text, params))[0] as Record<string, unknown>[];
  const connected: Connected = { db: drizzleMysql(pool, { mode: "default" }), query, sql: suiteSql("mysql", query) };
  return {
    kind: "mysql",
    url: fresh.toString(),
    // `mariadb://` is the other scheme the CLI takes; URL refuses to change a special scheme, so by text.
    otherForms: [{ url: fresh.toString().replace(/^mysql:/, "mariadb:") }, { url: fresh.toString() }],
    use: (fn) => fn(connected),
    async close() {
      await pool.end();
      await admin(`drop database if exists \`${name}\``);
    },
  };
}
