import type { SQL } from "drizzle-orm";
import { eq, getTableColumns, getTableName, is, sql } from "drizzle-orm";
import { getTableConfig, PgColumn, PgTable } from "drizzle-orm/pg-core";
import { SessionConfigError, SessionStoreError, SessionUsageError } from "../../errors.js";
import type { Where } from "../../store.js";
import type { SessionsTable } from "./sessions-table.js";
import { baseColumnKeys } from "./sessions-table.js";

/** What the store needs to know about its table beyond the base columns. */
export interface CheckedTable {
  /** `schema.table`, unique per table in one database. */
  name: string;
  /** Session field → its generated, indexed column. */
  indexed: ReadonlyMap<string, PgColumn>;
}

/** Checks at factory time that `table` has every column the store writes. */
export function checkTable(table: unknown): CheckedTable {
  if (!is(table, PgTable)) throw new SessionConfigError("drizzleStore: `table` must be a Drizzle pgTable");
  const columns: Record<string, unknown> = getTableColumns(table);
  for (const key of baseColumnKeys) {
    if (!is(columns[key], PgColumn)) {
      throw new SessionConfigError(`drizzleStore: \`table\` has no "${key}" column; build it with sessionsTable()`);
    }
  }
  const indexed = new Map<string, PgColumn>();
  for (const [field, column] of Object.entries(columns)) {
    // Only generated columns follow `data`; any other extra column is the user's own business.
    if (is(column, PgColumn) && column.generated?.type === "always" && !baseColumnKeys.includes(field as never)) {
      indexed.set(field, column);
    }
  }
  return { name: `${getTableConfig(table).schema ?? "public"}.${getTableName(table)}`, indexed };
}

/**
 * One condition per `where` field: the indexed column when the table has one, else jsonb
 * containment on `data` (`{"field":{"json":value}}`), which no index serves.
 */
export function whereConditions(table: SessionsTable, indexed: ReadonlyMap<string, PgColumn>, where: Where): SQL[] {
  return Object.entries(where).map(([field, value]) => {
    // JSON.stringify would drop an undefined value and match every session having the field.
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new SessionUsageError(`where: "${field}" must be a string, number or boolean`);
    }
    const column = indexed.get(field);
    if (column !== undefined) return eq(column, value);
    return sql`${table.data} @> ${JSON.stringify({ [field]: { json: value } })}::jsonb`;
  });
}

/** Rows of a `db.execute` result: postgres-js returns an array, node-postgres and PGlite `{ rows }`. */
export function rowsOf(result: unknown): unknown[] {
  if (Array.isArray(result)) return result;
  const rows = (result as { rows?: unknown } | null)?.rows;
  if (Array.isArray(rows)) return rows;
  throw new SessionStoreError("drizzleStore: unrecognised result shape from the database driver");
}
