import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { SQLitePreparedQuery, SQLiteSession } from "drizzle-orm/sqlite-core";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
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

/**
 * A hot-path statement: `build` names each value through `param` (a Drizzle placeholder, so the
 * text is rendered and prepared once and only the values change). Prepared lazily: better-sqlite3
 * prepares against the schema at once, and an app may build the store before `migrate(db)` ran.
 * better-sqlite3 answers synchronously; `await` makes both drivers one shape.
 */
export function sqliteStatement(db: SqliteDb, build: (param: (name: string) => SQL) => SQL): SqliteStatement {
  let prepared: SQLitePreparedQuery<PreparedConfig> | undefined;
  const query = () => {
    if (prepared === undefined) {
      const { sql: text, params } = new SQLiteAsyncDialect().sqlToQuery(build((name) => sql`${sql.placeholder(name)}`));
      prepared = sessionOf(db).prepareQuery({ sql: text, params }, undefined, "all", true) as SQLitePreparedQuery<PreparedConfig>;
    }
    return prepared;
  };
  return {
    async values(params) {
      const rows = (await query().values(params)) as ArrayLike<unknown>[];
      // libSQL's rows are array-like objects; better-sqlite3's are arrays.
      return rows.map((row) => Array.prototype.slice.call(row));
    },
    async run(params) {
      return changesOf(await query().run(params));
    },
  };
}

/** Rows changed, from a run result: better-sqlite3's `{ changes }` or libSQL's `{ rowsAffected }`. */
export function changesOf(result: unknown): number {
  const r = result as { changes?: number | bigint; rowsAffected?: number } | null;
  return Number(r?.changes ?? r?.rowsAffected ?? 0);
}
