import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT, PgSession } from "drizzle-orm/pg-core";
import { PgDialect } from "drizzle-orm/pg-core";
import { SessionConfigError } from "../../errors.js";

/** A statement built once: `execute` binds named values and resolves to the rows as arrays. */
export interface FixedStatement {
  execute(values: Record<string, unknown>): Promise<unknown[][]>;
}

/**
 * A hot-path statement written once, as fixed SQL text in which each named parameter is one `$n`
 * however often the text uses it (Drizzle's builder sends a value once per use: a patch's `set`
 * went four times), prepared under `name` like Drizzle's own `.prepare()`, and answered as
 * arrays, so no driver option that renames columns (postgres.js `transform`) can change the
 * result, and without Drizzle's per-row mapping. It goes through the session's `prepareQuery`
 * with a result mapper, the path Drizzle's relational queries take on every Postgres driver.
 * `build` names each parameter through `param`; the table and columns still come from the
 * Drizzle table, so the schema has one source.
 */
export function fixedStatement(
  db: PgDatabase<PgQueryResultHKT, Record<string, unknown>>,
  name: string,
  build: (param: (name: string) => SQL) => SQL,
): FixedStatement {
  const names: string[] = [];
  const param = (key: string) => {
    let index = names.indexOf(key);
    if (index === -1) index = names.push(key) - 1;
    return sql.raw(`$${index + 1}`);
  };
  const query = new PgDialect().sqlToQuery(build(param));
  // A value interpolated into `build` would become a `$n` of its own and shift every other.
  // Tessera's own statements only: reaching this is a bug in the store, found at drizzleStore().
  if (query.params.length > 0) {
    throw new SessionConfigError(`drizzleStore: statement ${name} interpolates a value instead of naming it`);
  }
  const text = query.sql;
  const params = names.map((key) => sql.placeholder(key));
  const session = db._.session as PgSession;
  return session.prepareQuery<{ execute: unknown[][]; all: unknown; values: unknown }>(
    { sql: text, params },
    undefined,
    name,
    true,
    (rows) => rows,
  );
}
