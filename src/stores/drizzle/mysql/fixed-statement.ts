import type { SQL } from "drizzle-orm";
import { entityKind, is, Placeholder, sql } from "drizzle-orm";
import { MySqlDialect } from "drizzle-orm/mysql-core";
import { SessionConfigError, SessionStoreError } from "../../../errors.js";
import type { MysqlDb } from "../dialects.js";

/** A statement built once: `execute` binds named values; rows come back as arrays, an UPDATE as its OK packet. */
export interface MysqlFixedStatement {
  /** The `[rows or OK packet, fields]` pair mysql2 answers with (`rowsOf`, `okOf` read it). */
  execute(values: Readonly<Record<string, unknown>>): Promise<unknown>;
}

/** The part of a mysql2 callback-style pool or connection the hot path uses. */
interface PreparingClient {
  execute(
    options: { sql: string; rowsAsArray: boolean },
    values: unknown[],
    done: (error: Error | null, result?: unknown, fields?: unknown) => void,
  ): unknown;
}

const isCallbackClient = (client: unknown): client is PreparingClient & { promise(): unknown } =>
  typeof client === "object" &&
  client !== null &&
  typeof (client as { promise?: unknown }).promise === "function" &&
  typeof (client as { execute?: unknown }).execute === "function";

/**
 * The callback-style mysql2 client under a Drizzle mysql2 database, else null. Drizzle keeps what
 * it was given as `$client`: a callback pool or connection itself, or a promise one wrapping it
 * (`.pool`, `.connection`), the same connections Drizzle's own session uses. The callback API,
 * because mysql2's promise wrapper captures a stack trace on every call (its `trace` option, on
 * by default): ~7 % of a read's client CPU in a profile. The database is recognised by Drizzle's
 * entity kind, not by importing drizzle-orm/mysql2 (which imports mysql2, absent from a Postgres
 * or SQLite app); another MySQL driver's client (PlanetScale's) has an `execute` of another shape.
 */
function preparingClient(db: MysqlDb): PreparingClient | null {
  if ((db.constructor as unknown as Record<symbol, unknown>)[entityKind] !== "MySql2Database") return null;
  const client = (db as unknown as { $client?: { pool?: unknown; connection?: unknown } }).$client;
  if (isCallbackClient(client)) return client;
  if (isCallbackClient(client?.pool)) return client.pool;
  if (isCallbackClient(client?.connection)) return client.connection;
  return null;
}

/**
 * The MySQL seam for hot-path statements (get's SELECT, patch's UPDATE), as fixed-statement.ts is
 * for Postgres: the text is rendered from the Drizzle table once, each value a named placeholder,
 * and sent straight to the mysql2 pool as a prepared statement (`execute`: binary protocol, the
 * statement parsed once per connection) with positional values, rows as arrays. Drizzle's
 * per-call SQL building and its text protocol cost ~35–40 µs of client CPU per statement over
 * this (bench/RESULTS.md, issue 16). A database whose client cannot prepare (another Drizzle
 * MySQL driver) runs the same text through `db.execute`, so the store still works there.
 */
export function mysqlFixedStatement(
  db: MysqlDb,
  name: string,
  build: (param: (name: string) => SQL) => SQL,
): MysqlFixedStatement {
  const query = new MySqlDialect().sqlToQuery(build((key) => sql`${sql.placeholder(key)}`));
  const names = query.params.map((p) => {
    // A value interpolated into `build` would be sent the same on every call: a store bug, found at drizzleStore().
    if (!is(p, Placeholder))
      throw new SessionConfigError(`drizzleStore: statement ${name} interpolates a value instead of naming it`);
    return p.name as string;
  });
  const text = query.sql;
  const valuesOf = (values: Readonly<Record<string, unknown>>) => {
    const out = new Array<unknown>(names.length);
    for (let i = 0; i < names.length; i++) out[i] = values[names[i] as string] ?? null;
    return out;
  };
  const client = preparingClient(db);
  if (client !== null) {
    const options = { sql: text, rowsAsArray: true };
    return {
      execute(values) {
        const bound = valuesOf(values);
        return new Promise((resolve, reject) => {
          client.execute(options, bound, (error, result, fields) => {
            // The driver's own error (its `code`, `errno`), as Drizzle before 0.45 passed it on:
            // DrizzleQueryError, which 0.45 wraps it in, is not in drizzle-orm 0.44, the peer floor.
            if (error) reject(error);
            else resolve([result, fields]);
          });
        });
      },
    };
  }
  // The fallback: the same text, split at its placeholders, as a Drizzle SQL with the values.
  const chunks = text.split("?");
  return {
    async execute(values) {
      const bound = valuesOf(values);
      const statement = sql.join(
        chunks.map((chunk, i) => (i < bound.length ? sql`${sql.raw(chunk)}${bound[i]}` : sql.raw(chunk))),
        sql``,
      );
      const result = (await db.execute(statement)) as unknown;
      const rows: unknown = Array.isArray(result) ? result[0] : undefined;
      // As arrays, like the prepared path; an OK packet is passed through.
      return Array.isArray(rows) ? [rows.map((row: Record<string, unknown>) => Object.values(row)), []] : result;
    },
  };
}

/** The rows of a fixed statement's answer, each an array of the selected columns in order. */
export function arrayRowsOf(result: unknown): unknown[][] {
  const rows = Array.isArray(result) ? result[0] : undefined;
  if (Array.isArray(rows) && (rows.length === 0 || Array.isArray(rows[0]))) return rows as unknown[][];
  throw new SessionStoreError("drizzleStore: unrecognised result shape from the MySQL driver");
}
