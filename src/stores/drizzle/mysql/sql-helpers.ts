import type { SQL } from "drizzle-orm";
import { getTableColumns, getTableName, is, sql } from "drizzle-orm";
import { MySqlColumn, MySqlTable } from "drizzle-orm/mysql-core";
import { SessionConfigError, SessionStoreError, SessionUsageError } from "../../../errors.js";
import type { Where } from "../../../store.js";
import type { MysqlSessionsTable } from "./sessions-table.js";
import { baseColumnKeys } from "./sessions-table.js";

/** Session field → its generated, indexed column. */
export type IndexedColumns = ReadonlyMap<string, MySqlColumn>;

/** Checks at factory time that `table` has every column the store writes; finds its generated columns. */
export function checkTable(table: unknown): { name: string; indexed: IndexedColumns } {
  if (!is(table, MySqlTable)) throw new SessionConfigError("drizzleStore: `table` must be a Drizzle mysqlTable");
  const columns: Record<string, unknown> = getTableColumns(table);
  for (const key of baseColumnKeys) {
    if (!is(columns[key], MySqlColumn)) {
      throw new SessionConfigError(`drizzleStore: \`table\` has no "${key}" column; build it with sessionsTable()`);
    }
  }
  const indexed = new Map<string, MySqlColumn>();
  for (const [field, column] of Object.entries(columns)) {
    if (is(column, MySqlColumn) && column.generated?.type === "always" && !baseColumnKeys.includes(field as never)) {
      indexed.set(field, column);
    }
  }
  return { name: getTableName(table), indexed };
}

/**
 * The JSON path of one top-level key of `data`: `$."key"`, the key written as a JSON string, so
 * that quotes, backslashes, controls and path syntax (`$`, `.`, `[`, `*`) in it are only a name.
 * MariaDB matches and writes the quoted key as it is escaped, and JSON.stringify wrote the
 * keys already stored, so both sides escape alike.
 */
export const keyPath = (key: string) => `$.${JSON.stringify(key)}`;

const stringColumn = /^(varchar|char)/;

/**
 * One condition per `where` field. An indexed column is compared by the index, then exactly:
 * MySQL's default collations are case- and accent-insensitive, so a string field also has to
 * match byte for byte (its value in `data`, which a non-strict sql_mode may have cut short in
 * the column). A field without a column is compared as JSON text, exactly: the text
 * MariaDB keeps for the value (`"1"`, `1`, `true`) against JSON.stringify of the filter, so a
 * string "1" matches neither the number 1 nor true (no index serves this).
 */
export function whereConditions(table: MysqlSessionsTable, indexed: IndexedColumns, where: Where): SQL[] {
  return Object.entries(where).map(([field, value]) => {
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new SessionUsageError(`where: "${field}" must be a string, number or boolean`);
    }
    const column = indexed.get(field);
    if (column !== undefined) {
      const type = column.getSQLType();
      if (stringColumn.test(type)) {
        // Under a sql_mode without STRICT, a value longer than the column is stored cut to its
        // first n characters (a warning, not an error). So the index is searched for the value cut
        // alike, and the exact test is on the value in `data` itself: the full value still finds
        // its session (revoke misses nothing) and a value that only begins like it does not match.
        const text = String(value);
        const cut = [...text].slice(0, Number(/\((\d+)\)/.exec(type)?.[1] ?? 1)).join("");
        const full = sql`json_value(${table.data}, ${`${keyPath(field)}.json`})`;
        return sql`(${column} = ${cut} and cast(${full} as binary) = cast(${text} as binary))`;
      }
      // A string against a number column: MySQL converts it by its leading digits ('abc' is 0,
      // '7abc' is 7), so revoke would take sessions the filter never named. It matches only a
      // value whose text it is ("7" is 7); "true"/"false" on a boolean column are those booleans.
      const typed = type === "boolean" && (value === "true" || value === "false") ? value === "true" : value;
      if (typeof typed === "string") return sql`(${column} = ${typed} and cast(${column} as char) = ${typed})`;
      return sql`${column} = ${typeof typed === "boolean" ? Number(typed) : typed}`;
    }
    return sql`cast(json_extract(${table.data}, ${`${keyPath(field)}.json`}) as binary) = cast(${JSON.stringify(value)} as binary)`;
  });
}

/** The rows of a mysql2 `db.execute` result (`[rows, fields]`). */
export function rowsOf(result: unknown): Record<string, unknown>[] {
  const rows = Array.isArray(result) ? result[0] : undefined;
  // Rows as arrays (`rowsAsArray`) would read as corrupt sessions, silently: an outage instead.
  if (Array.isArray(rows) && !Array.isArray(rows[0])) return rows as Record<string, unknown>[];
  throw new SessionStoreError("drizzleStore: unrecognised result shape from the MySQL driver");
}

/**
 * How many rows a mysql2 UPDATE or DELETE matched, and the `LAST_INSERT_ID(expr)` it set. Matched,
 * not changed: read from the server's "Rows matched" info, so a `touch` writing the expiry the
 * row already has still counts, whether or not the pool asked for CLIENT_FOUND_ROWS
 * (mysql2 does by default, `affectedRows` is then the same number).
 */
export function okOf(result: unknown): { matched: number; insertId: number } {
  const header = (Array.isArray(result) ? result[0] : undefined) as
    | { affectedRows?: unknown; insertId?: unknown; info?: unknown }
    | undefined;
  if (header === undefined || typeof header.affectedRows !== "number") {
    throw new SessionStoreError("drizzleStore: unrecognised result shape from the MySQL driver");
  }
  const info = typeof header.info === "string" ? /Rows matched: (\d+)/.exec(header.info) : null;
  return { matched: info ? Number(info[1]) : header.affectedRows, insertId: Number(header.insertId) };
}
