import type { SQL } from "drizzle-orm";
import { is, Placeholder, sql } from "drizzle-orm";
import type { SQLitePreparedQuery, SQLiteSession } from "drizzle-orm/sqlite-core";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { SessionConfigError } from "../../../errors.js";
import type { SqliteDb } from "../dialects.js";

type PreparedConfig = { type: "sync" | "async"; run: unknown; all: unknown; get: unknown; values: unknown; execute: unknown };

/** The driver session of a Drizzle SQLite database (internal to Drizzle, the path its own migrators take). */
export function sessionOf(db: SqliteDb): SQLiteSession<"sync" | "async", unknown, Record<string, never>, never> {
  return (db as unknown as { session: SQLiteSession<"sync" | "async", unknown, Record<string, never>, never> }).session;
}

/** A statement written once and prepared on first use: named values in, rows as arrays out. */
export interface SqliteStatement {
  /** The rows, each an array of column values in select order. */
  values(params: Record<string, unknown>): Promise<unknown[][]>;
  /** How many rows the statement changed. */
  run(params: Record<string, unknown>): Promise<number>;
}

/** SQL text with one `?` per use of a value, and the value's name for each `?` in order. */
interface Compiled {
  text: string;
  uses: readonly string[];
}

/** One statement's runner on one driver: the values bound in `?` order. */
interface Runner {
  values(args: unknown[]): unknown[][] | Promise<unknown[][]>;
  run(args: unknown[]): number | Promise<number>;
}

// better-sqlite3's Database and Statement, as far as the store uses them.
type BetterSqliteStatement = {
  reader: boolean;
  raw(on: boolean): BetterSqliteStatement;
  all(...args: unknown[]): unknown[][];
  run(...args: unknown[]): { changes: number | bigint };
};
type BetterSqliteClient = { prepare(text: string): BetterSqliteStatement; pragma: unknown };
// @libsql/client's Client: `execute` prepares the text on a pooled connection each call.
type LibsqlClient = {
  execute(statement: { sql: string; args: unknown[] }): Promise<{ rows: ArrayLike<unknown>[]; rowsAffected: number }>;
  batch: unknown;
  protocol: unknown;
};

/**
 * How `db` runs a statement: on better-sqlite3 and @libsql/client straight on the driver (the
 * hot path's statements are fixed, so Drizzle's per-call work, placeholder filling and result
 * shaping, buys nothing there: the seam fixed-statement.ts is on Postgres); on any other driver
 * (D1, bun:sqlite, ...) through Drizzle's prepared query. Drizzle's query logger does not see
 * the direct ones.
 */
function runnerFor(db: SqliteDb): (compiled: Compiled) => Runner {
  const session = sessionOf(db);
  const client = (session as unknown as { client?: unknown }).client;
  const kind = (db as unknown as { resultKind?: string }).resultKind;
  if (kind === "sync" && isBetterSqlite(client)) {
    return ({ text }) => {
      const statement = client.prepare(text);
      if (statement.reader) statement.raw(true);
      return {
        values: (args) => {
          if (statement.reader) return statement.all(...args);
          statement.run(...args);
          return [];
        },
        run: (args) => Number(statement.run(...args).changes),
      };
    };
  }
  if (kind === "async" && isLibsql(client)) {
    return ({ text }) => ({
      async values(args) {
        // libSQL's rows are array-like objects (indexes and column names).
        return (await client.execute({ sql: text, args })).rows.map((row) => Array.prototype.slice.call(row));
      },
      async run(args) {
        return (await client.execute({ sql: text, args })).rowsAffected;
      },
    });
  }
  return ({ text, uses }) => {
    const prepared = session.prepareQuery(
      { sql: text, params: uses.map((_, i) => sql.placeholder(String(i))) },
      undefined,
      "all",
      true,
    ) as SQLitePreparedQuery<PreparedConfig>;
    const named = (args: unknown[]) => Object.fromEntries(args.map((value, i) => [String(i), value]));
    return {
      async values(args) {
        const rows = (await prepared.values(named(args))) as ArrayLike<unknown>[];
        return rows.map((row) => Array.prototype.slice.call(row));
      },
      async run(args) {
        return changesOf(await prepared.run(named(args)));
      },
    };
  };
}

function isBetterSqlite(client: unknown): client is BetterSqliteClient {
  const c = client as Partial<BetterSqliteClient> | null | undefined;
  return typeof c?.prepare === "function" && typeof c.pragma === "function";
}

function isLibsql(client: unknown): client is LibsqlClient {
  const c = client as Partial<LibsqlClient> | null | undefined;
  return typeof c?.execute === "function" && typeof c.batch === "function" && typeof c.protocol === "string";
}

/**
 * Renders `build` once: each `param(name)` is a Drizzle placeholder, one `?` in the text (a value
 * used twice is bound twice), so the names come out in the text's order.
 * @throws SessionConfigError when `build` interpolates a value instead of naming it (a bug in
 *   the store, found when the statement is first used).
 */
function compile(build: (param: (name: string) => SQL) => SQL): Compiled {
  const query = new SQLiteAsyncDialect().sqlToQuery(build((name) => sql`${sql.placeholder(name)}`));
  const uses = query.params.map((value) => (is(value, Placeholder) ? value.name : undefined));
  if (uses.some((name) => name === undefined)) {
    throw new SessionConfigError("drizzleStore: a SQLite statement interpolates a value instead of naming it");
  }
  return { text: query.sql, uses: uses as string[] };
}

/**
 * A hot-path statement: `build` names each value through `param`, so the text is rendered and
 * prepared once and only the values change. Prepared lazily: better-sqlite3 prepares against the
 * schema at once, and an app may build the store before `migrate(db)` ran. better-sqlite3
 * answers synchronously; `await` makes both drivers one shape.
 */
export function sqliteStatement(db: SqliteDb, build: (param: (name: string) => SQL) => SQL): SqliteStatement {
  let compiled: Compiled | undefined;
  let runner: Runner | undefined;
  const args = (params: Record<string, unknown>) => (compiled as Compiled).uses.map((name) => params[name]);
  const get = () => {
    if (runner === undefined) {
      compiled = compile(build);
      runner = runnerFor(db)(compiled);
    }
    return runner;
  };
  return {
    async values(params) {
      const r = get();
      return r.values(args(params));
    },
    async run(params) {
      const r = get();
      return r.run(args(params));
    },
  };
}

/** Rows changed, from a run result: better-sqlite3's `{ changes }` or libSQL's `{ rowsAffected }`. */
export function changesOf(result: unknown): number {
  const r = result as { changes?: number | bigint; rowsAffected?: number } | null;
  return Number(r?.changes ?? r?.rowsAffected ?? 0);
}
