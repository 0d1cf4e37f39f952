import type { BuildColumns, HasGenerated } from "drizzle-orm";
import { is, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteColumnBuilder, SQLiteColumnBuilderBase, SQLiteTableWithColumns } from "drizzle-orm/sqlite-core";
import {
  index,
  integer,
  SQLiteBoolean,
  SQLiteInteger,
  SQLiteNumeric,
  SQLiteNumericNumber,
  SQLiteReal,
  SQLiteText,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";
import { SessionConfigError } from "../../../errors.js";
import type { StoredData } from "../../../store.js";

/**
 * The columns every SQLite sessions table has, keyed by their `StoredSession` field. Times are
 * integer epoch milliseconds: SQLite has no date type, and an integer compares, indexes and
 * round-trips a `Date` exactly. `data` is the JSON text of `StoredData`.
 */
function baseColumns() {
  return {
    /** sha256(token), hex: the token itself is never stored. */
    id: text("id").primaryKey(),
    data: text("data", { mode: "json" }).$type<StoredData>().notNull(),
    expiresAt: integer("expires_at", { mode: "timestamp_ms" }).notNull(),
    absoluteExpiresAt: integer("absolute_expires_at", { mode: "timestamp_ms" }),
    createdAt: integer("created_at", { mode: "timestamp_ms" }).notNull(),
    updatedAt: integer("updated_at", { mode: "timestamp_ms" }).notNull(),
    schemaVersion: integer("schema_version").notNull(),
    rev: integer("rev").notNull(),
    successorId: text("successor_id"),
  };
}

/** The columns of every SQLite sessions table, as drizzle builds them. */
export type SqliteBaseColumns = ReturnType<typeof baseColumns>;

/** The `StoredSession` fields that are columns of every SQLite sessions table. */
export const sqliteBaseColumnKeys = Object.keys(baseColumns()) as readonly (keyof SqliteBaseColumns)[];

/**
 * The extra columns of a table, each turned into a generated column. A map typed only as
 * `Record<string, …>` adds no typed columns: an index signature would erase the base ones.
 */
export type SqliteGeneratedColumns<TColumns extends Record<string, SQLiteColumnBuilderBase>> = string extends keyof TColumns
  ? Record<never, SQLiteColumnBuilderBase>
  : { [K in keyof TColumns]: HasGenerated<TColumns[K], { type: "always" }> };

/** Options of {@link sessionsTable}. */
export interface SqliteSessionsTableOptions<TColumns extends Record<string, SQLiteColumnBuilderBase>> {
  /**
   * Session fields mirrored into indexed columns, keyed by field name, so that `findMany` and
   * `revoke` on them are index lookups. Each becomes a VIRTUAL generated column,
   * `json_extract(data, '$.<field>.json')`, with an index of its own: computed from `data`, it can
   * never drift from the session, and (unlike a STORED one) SQLite can add it to an existing table
   * with `ALTER TABLE ... ADD COLUMN`. Types: `text`, `integer` (number or boolean mode), `real`,
   * `numeric` (not timestamps, JSON or blobs: a session's dates are ISO strings in its JSON). The
   * column must be nullable: a session without the field has NULL there.
   * @default {}
   */
  columns?: TColumns;
}

const plainIdentifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Column kinds whose value `json_extract` gives as the column reads it back. */
const indexableKinds = [SQLiteText, SQLiteInteger, SQLiteBoolean, SQLiteReal, SQLiteNumeric, SQLiteNumericNumber];

/**
 * Builds the Drizzle `sqliteTable` that `drizzleStore` reads and writes on SQLite (libSQL/Turso,
 * better-sqlite3). Put it in your Drizzle schema and let `drizzle-kit generate` write the
 * migration; the package's own `drizzle/sqlite/` folder holds the migration of the default table.
 *
 * Columns: `id` (sha256 of the token), `data` (JSON text), `expires_at` (indexed, for purging),
 * `absolute_expires_at`, `created_at`, `updated_at` (integer epoch ms), `schema_version`, `rev`,
 * `successor_id`, plus one indexed VIRTUAL generated column per entry of `options.columns`.
 *
 * @throws SessionConfigError when a field name is not a plain identifier, clashes with a base
 *   column, or its column is not nullable or of an indexable type.
 * @example
 * import { text } from "drizzle-orm/sqlite-core";
 * import { sessionsTable } from "tesserae/drizzle/sqlite";
 * export const sessions = sessionsTable("sessions", { columns: { userId: text("user_id") } });
 */
export function sessionsTable<
  TName extends string = "sessions",
  TColumns extends Record<string, SQLiteColumnBuilderBase> = Record<never, SQLiteColumnBuilderBase>,
>(
  name: TName = "sessions" as TName,
  options: SqliteSessionsTableOptions<TColumns> = {},
): SqliteSessionsTableOf<TName, SqliteBaseColumns & SqliteGeneratedColumns<TColumns>> {
  const extra = options.columns ?? ({} as TColumns);
  const fields = Object.keys(extra);
  for (const field of fields) {
    if (!plainIdentifier.test(field) || (sqliteBaseColumnKeys as readonly string[]).includes(field)) {
      throw new SessionConfigError(`sessionsTable: "${field}" cannot be an indexed field name`);
    }
  }

  const generated: Record<string, SQLiteColumnBuilder> = {};
  for (const field of fields) {
    const builder = extra[field] as SQLiteColumnBuilder;
    // The field is a plain identifier (checked above), so it is a valid JSON path step as it is.
    generated[field] = builder.generatedAlwaysAs(sql.raw(`json_extract("data", '$.${field}.json')`), { mode: "virtual" });
  }

  const table = sqliteTable(name, { ...baseColumns(), ...(generated as unknown as SqliteGeneratedColumns<TColumns>) }, (t) => [
    index(`${name}_expires_at_idx`).on(t.expiresAt),
    ...fields.map((field) => {
      const column = columnOf(t, field);
      return index(`${name}_${column.name}_idx`).on(column);
    }),
  ]);

  // Column names are one namespace, case-insensitive in SQLite: drizzle-kit writes one column for
  // two fields on "x" (`find({ a })` then compared b's values), and a field on "id" or
  // "expires_at" replaced that base column (test/attacks/issue16-sqlite-column-names.test.ts).
  const names = new Set(sqliteBaseColumnKeys.map((key) => columnOf(table, key).name.toLowerCase()));
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
    if (!indexableKinds.some((kind) => is(column, kind))) {
      throw new SessionConfigError(
        `sessionsTable: "${field}" has type ${column.getSQLType()} (${column.columnType}), which cannot be generated from data`,
      );
    }
  }
  return table;
}

function columnOf(table: object, field: string): SQLiteColumn {
  return (table as Record<string, SQLiteColumn>)[field] as SQLiteColumn;
}

/**
 * The table {@link sessionsTable} returns, written out (`TColumnsMap`: the base columns and the
 * generated ones), so that the declaration build does not inline drizzle's `BuildColumns` with
 * its type parameters unbound (see the Postgres `SessionsTableOf`).
 */
export type SqliteSessionsTableOf<
  TName extends string,
  TColumnsMap extends Record<string, SQLiteColumnBuilderBase>,
> = SQLiteTableWithColumns<{
  name: TName;
  schema: undefined;
  columns: BuildColumns<TName, TColumnsMap, "sqlite">;
  dialect: "sqlite";
}>;

/** Any table built by {@link sessionsTable} from `tesserae/drizzle/sqlite`, whatever its name and extra columns. */
export type SqliteSessionsTable = SQLiteTableWithColumns<{
  name: string;
  schema: string | undefined;
  columns: BuildColumns<string, SqliteBaseColumns, "sqlite">;
  dialect: "sqlite";
}>;
