import type { BuildColumns, HasGenerated } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { MySqlColumn, MySqlColumnBuilder, MySqlColumnBuilderBase, MySqlTableWithColumns } from "drizzle-orm/mysql-core";
import { datetime, index, int, json, mysqlTable, varchar } from "drizzle-orm/mysql-core";
import { SessionConfigError } from "../../../errors.js";
import type { StoredData } from "../../../store.js";

/**
 * The columns every MySQL sessions table has, keyed by their `StoredSession` field. Times are
 * `datetime(3)`, always written and read as UTC by the store (never through the session
 * `time_zone`, see docs/decisions.md "Drizzle dialects: MySQL/MariaDB"); ids are varchar(64)
 * because a sha256 in hex is 64 characters and MySQL indexes only bounded strings.
 */
function baseColumns() {
  return {
    /** sha256(token), hex: the token itself is never stored. */
    id: varchar("id", { length: 64 }).primaryKey(),
    data: json("data").$type<StoredData>().notNull(),
    expiresAt: datetime("expires_at", { mode: "date", fsp: 3 }).notNull(),
    absoluteExpiresAt: datetime("absolute_expires_at", { mode: "date", fsp: 3 }),
    createdAt: datetime("created_at", { mode: "date", fsp: 3 }).notNull(),
    updatedAt: datetime("updated_at", { mode: "date", fsp: 3 }).notNull(),
    schemaVersion: int("schema_version").notNull(),
    rev: int("rev").notNull(),
    successorId: varchar("successor_id", { length: 64 }),
  };
}

/** The `StoredSession` fields that are columns of every MySQL sessions table. */
export const baseColumnKeys = Object.keys(baseColumns()) as readonly (keyof ReturnType<typeof baseColumns>)[];

/** The extra columns of a table, each turned into a generated column (see the pg `GeneratedColumns`). */
export type MysqlGeneratedColumns<TColumns extends Record<string, MySqlColumnBuilderBase>> = string extends keyof TColumns
  ? Record<never, MySqlColumnBuilderBase>
  : { [K in keyof TColumns]: HasGenerated<TColumns[K], { type: "always" }> };

/** Options of {@link sessionsTable}. */
export interface MysqlSessionsTableOptions<TColumns extends Record<string, MySqlColumnBuilderBase>> {
  /**
   * Session fields mirrored into indexed columns, keyed by field name, so that `findMany` and
   * `revoke` on them are index lookups. Each becomes a STORED generated column,
   * `json_value(data, '$.<field>.json')`, so it can never drift from the session. Scalar types
   * only: varchar(n) or char(n) (MySQL cannot index unbounded text; a value longer than `n` makes
   * the write fail, so size it for the longest value), int, tinyint, smallint, mediumint, bigint,
   * decimal, double, float, boolean. The column must be nullable: a session without the field has NULL there.
   * @default {}
   */
  columns?: TColumns;
}

const indexableType =
  /^(varchar\(\d+\)|char(\(\d+\))?|int|tinyint|smallint|mediumint|bigint|decimal(\(\d+(,\s*\d+)?\))?|double(\(\d+,\s*\d+\))?|float|real|boolean)( unsigned)?$/;
const plainIdentifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Builds the Drizzle `mysqlTable` that `drizzleStore` reads and writes on MySQL or MariaDB. Put it
 * in your Drizzle schema and let `drizzle-kit generate` write the migration; the package's own
 * `drizzle/mysql/` folder holds the migration of the default table (`sessionsTable()`).
 *
 * Columns: `id`, `data json`, `expires_at` (indexed, for purging), `absolute_expires_at`,
 * `created_at`, `updated_at` (all `datetime(3)`, UTC), `schema_version`, `rev`, `successor_id`,
 * plus one indexed generated column per entry of `options.columns`.
 *
 * @throws SessionConfigError when a field name is not a plain identifier, clashes with a base
 *   column, or its column is not nullable or of an indexable type.
 * @example
 * import { varchar } from "drizzle-orm/mysql-core";
 * export const sessions = sessionsTable("sessions", { columns: { userId: varchar("user_id", { length: 64 }) } });
 */
export function sessionsTable<
  TName extends string = "sessions",
  TColumns extends Record<string, MySqlColumnBuilderBase> = Record<never, MySqlColumnBuilderBase>,
>(
  name: TName = "sessions" as TName,
  options: MysqlSessionsTableOptions<TColumns> = {},
): MysqlSessionsTableOf<TName, ReturnType<typeof baseColumns> & MysqlGeneratedColumns<TColumns>> {
  const extra = options.columns ?? ({} as TColumns);
  const fields = Object.keys(extra);
  for (const field of fields) {
    if (!plainIdentifier.test(field) || (baseColumnKeys as readonly string[]).includes(field)) {
      throw new SessionConfigError(`sessionsTable: "${field}" cannot be an indexed field name`);
    }
  }

  const generated: Record<string, MySqlColumnBuilder> = {};
  for (const field of fields) {
    const builder = extra[field] as unknown as MySqlColumnBuilder;
    // json_value unquotes a scalar (true reads as 1, false as 0) and gives NULL for an absent
    // field or a non-scalar; the column's own type converts the text. STORED: computed once per write.
    generated[field] = builder.generatedAlwaysAs(sql.raw(`json_value(\`data\`, '$.${field}.json')`), {
      mode: "stored",
    }) as unknown as MySqlColumnBuilder;
  }

  const table = mysqlTable(name, { ...baseColumns(), ...(generated as unknown as MysqlGeneratedColumns<TColumns>) }, (t) => [
    index(`${name}_expires_at_idx`).on(t.expiresAt),
    ...fields.map((field) => {
      const column = columnOf(t, field);
      return index(`${name}_${column.name}_idx`).on(column);
    }),
  ]);

  // Column names are one namespace, case-insensitive in MySQL: two fields on "x", or a field on
  // "id", would be one column (or replace a base one) in the DDL drizzle-kit writes.
  const names = new Set(baseColumnKeys.map((key) => columnOf(table, key).name.toLowerCase()));
  for (const field of fields) {
    const column = columnOf(table, field);
    const lower = column.name.toLowerCase();
    if (names.has(lower)) {
      throw new SessionConfigError(`sessionsTable: the column of "${field}", "${column.name}", is already a column of the table`);
    }
    names.add(lower);
    if (column.notNull || column.primary) {
      throw new SessionConfigError(`sessionsTable: the column of "${field}" must be nullable`);
    }
    if (!indexableType.test(column.getSQLType())) {
      throw new SessionConfigError(
        `sessionsTable: "${field}" has type ${column.getSQLType()}, which cannot be generated from data and indexed`,
      );
    }
  }
  return table;
}

function columnOf(table: object, field: string): MySqlColumn {
  return (table as Record<string, MySqlColumn>)[field] as MySqlColumn;
}

/**
 * The table {@link sessionsTable} returns, written out (see the pg `SessionsTableOf`: left to
 * inference, the declaration build inlines drizzle's `BuildColumns` with unbound parameters).
 */
export type MysqlSessionsTableOf<
  TName extends string,
  TColumnsMap extends Record<string, MySqlColumnBuilderBase>,
> = MySqlTableWithColumns<{
  name: TName;
  schema: undefined;
  columns: BuildColumns<TName, TColumnsMap, "mysql">;
  dialect: "mysql";
}>;

/** Any table built by the mysql {@link sessionsTable}, whatever its name and extra columns. */
export type MysqlSessionsTable = MySqlTableWithColumns<{
  name: string;
  schema: string | undefined;
  columns: BuildColumns<string, ReturnType<typeof baseColumns>, "mysql">;
  dialect: "mysql";
}>;
