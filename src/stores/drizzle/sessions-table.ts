import type { BuildColumns, HasGenerated } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { ExtraConfigColumn, PgColumn, PgColumnBuilder, PgColumnBuilderBase, PgTableWithColumns } from "drizzle-orm/pg-core";
import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { SessionConfigError } from "../../errors.js";
import type { StoredData } from "../../store.js";

/** The columns every sessions table has, keyed by their `StoredSession` field. */
function baseColumns() {
  return {
    /** sha256(token), hex: the token itself is never stored. */
    id: text("id").primaryKey(),
    data: jsonb("data").$type<StoredData>().notNull(),
    expiresAt: timestamp("expires_at", { withTimezone: true, mode: "date" }).notNull(),
    absoluteExpiresAt: timestamp("absolute_expires_at", { withTimezone: true, mode: "date" }),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, mode: "date" }).notNull(),
    schemaVersion: integer("schema_version").notNull(),
    rev: integer("rev").notNull(),
    successorId: text("successor_id"),
  };
}

/** The `StoredSession` fields that are columns of every sessions table. */
export const baseColumnKeys = Object.keys(baseColumns()) as readonly (keyof ReturnType<typeof baseColumns>)[];

/**
 * The extra columns of a table, each turned into a generated column. A map typed only as
 * `Record<string, …>` adds no typed columns: an index signature would erase the base ones.
 */
export type GeneratedColumns<TColumns extends Record<string, PgColumnBuilderBase>> = string extends keyof TColumns
  ? Record<never, PgColumnBuilderBase>
  : { [K in keyof TColumns]: HasGenerated<TColumns[K], { type: "always" }> };

/** Options of {@link sessionsTable}. */
export interface SessionsTableOptions<TColumns extends Record<string, PgColumnBuilderBase>> {
  /**
   * Session fields mirrored into indexed columns, keyed by field name, so that `findMany` and
   * `revoke` on them are index lookups. Each becomes a STORED generated column computed from
   * `data`, so it can never drift from the session. Only scalar types whose cast from text is
   * immutable work: text, varchar, char, integer, smallint, bigint, numeric, real,
   * double precision, boolean, uuid (not dates: Postgres refuses their casts in generated
   * columns). The column must be nullable: a session without the field has NULL there.
   * @default {}
   */
  columns?: TColumns;
}

// Casts from text to these types are immutable, which Postgres requires of a generated column.
const indexableType =
  /^(text|varchar(\(\d+\))?|char(\(\d+\))?|integer|smallint|bigint|numeric(\(\d+(,\s*\d+)?\))?|real|double precision|boolean|uuid)$/;
const plainIdentifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Builds the Drizzle `pgTable` that `drizzleStore` reads and writes. Put it in your Drizzle
 * schema and let `drizzle-kit generate` write the migration; the package's own `drizzle/`
 * folder holds the migration of the default table (`sessionsTable()`).
 *
 * Columns: `id` (sha256 of the token), `data jsonb`, `expires_at` (indexed, for purging),
 * `absolute_expires_at`, `created_at`, `updated_at`, `schema_version`, `rev`, `successor_id`,
 * plus one indexed generated column per entry of `options.columns`.
 *
 * @throws SessionConfigError when a field name is not a plain identifier, starts with `$`,
 *   clashes with a base column, or its column is not nullable or of an indexable type.
 * @example
 * import { text } from "drizzle-orm/pg-core";
 * export const sessions = sessionsTable("sessions", { columns: { userId: text("user_id") } });
 */
export function sessionsTable<
  TName extends string = "sessions",
  TColumns extends Record<string, PgColumnBuilderBase> = Record<never, PgColumnBuilderBase>,
>(
  name: TName = "sessions" as TName,
  options: SessionsTableOptions<TColumns> = {},
): SessionsTableOf<TName, ReturnType<typeof baseColumns> & GeneratedColumns<TColumns>> {
  const extra = options.columns ?? ({} as TColumns);
  const fields = Object.keys(extra);
  for (const field of fields) {
    if (!plainIdentifier.test(field) || (baseColumnKeys as readonly string[]).includes(field)) {
      throw new SessionConfigError(`sessionsTable: "${field}" cannot be an indexed field name`);
    }
  }

  const generated: Record<string, PgColumnBuilder> = {};
  for (const field of fields) {
    const builder = extra[field] as PgColumnBuilder;
    // Lazy: the SQL type is only known once the table has built the column.
    generated[field] = builder.generatedAlwaysAs(() =>
      sql.raw(`(("data" -> '${field}') ->> 'json')::${columnOf(table, field).getSQLType()}`),
    );
  }

  const table = pgTable(name, { ...baseColumns(), ...(generated as unknown as GeneratedColumns<TColumns>) }, (t) => [
    index(`${name}_expires_at_idx`).on(t.expiresAt),
    ...fields.map((field) => {
      const column = columnOf<ExtraConfigColumn>(t, field);
      return index(`${name}_${column.name}_idx`).on(column);
    }),
  ]);

  // Column names are one namespace: two fields on "x", or a field on "id", would be one column
  // (or replace a base one) in the DDL drizzle-kit writes (issue 16's attack on SQLite found it).
  const names = new Set(baseColumnKeys.map((key) => columnOf(table, key).name));
  for (const field of fields) {
    const column = columnOf(table, field);
    if (names.has(column.name)) {
      throw new SessionConfigError(`sessionsTable: the column of "${field}", "${column.name}", is already a column of the table`);
    }
    names.add(column.name);
    if (column.notNull || column.primary) {
      throw new SessionConfigError(`sessionsTable: the column of "${field}" must be nullable`);
    }
    if (!indexableType.test(column.getSQLType())) {
      throw new SessionConfigError(
        `sessionsTable: "${field}" has type ${column.getSQLType()}, which cannot be generated from data`,
      );
    }
  }
  return table;
}

function columnOf<TColumn = PgColumn>(table: object, field: string): TColumn {
  return (table as Record<string, TColumn>)[field] as TColumn;
}

/**
 * The table {@link sessionsTable} returns, written out (`TColumnsMap`: the base columns and the
 * generated ones): left to inference, the declaration build inlined drizzle's `BuildColumns`
 * with its type parameters unbound, so an app compiling against the published `.d.ts` saw MySQL
 * columns and could not pass the table to `drizzleStore`.
 */
export type SessionsTableOf<TName extends string, TColumnsMap extends Record<string, PgColumnBuilderBase>> = PgTableWithColumns<{
  name: TName;
  schema: undefined;
  columns: BuildColumns<TName, TColumnsMap, "pg">;
  dialect: "pg";
}>;

/** Any table built by {@link sessionsTable}, whatever its name and extra columns. */
export type SessionsTable = PgTableWithColumns<{
  name: string;
  schema: string | undefined;
  columns: BuildColumns<string, ReturnType<typeof baseColumns>, "pg">;
  dialect: "pg";
}>;
