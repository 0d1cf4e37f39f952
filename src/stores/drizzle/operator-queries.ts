import { type SQL, sql } from "drizzle-orm";
import type { PgColumn, PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import type { StoreStats } from "../../store.js";
import type { SessionsTable } from "./sessions-table.js";
import { rowsOf } from "./sql-helpers.js";

type Db = PgDatabase<PgQueryResultHKT, Record<string, unknown>>;

/**
 * The queries behind `tesserae stats`, `purge --dry-run` and the vacuum after a purge. None runs
 * on the request path; each is one statement (the top values, one per indexed column).
 */
export function operatorQueries(db: Db, t: SessionsTable, tableName: SQL, indexed: ReadonlyMap<string, PgColumn>) {
  const rows = async (query: SQL) => rowsOf(await db.execute(query)) as Record<string, unknown>[];
  // Counts arrive as strings from postgres.js (bigint) and as numbers from PGlite.
  const num = (value: unknown) => (value === null || value === undefined ? 0 : Number(value));
  const at = (now: Date) => sql`${now.toISOString()}::timestamptz`;
  const live = (now: Date) => sql`${t.expiresAt} > ${at(now)} and ${t.successorId} is null`;

  return {
    async stats(now: Date, options: { top: number }): Promise<StoreStats> {
      const size = sql`octet_length(${t.data}::text)`;
      const [row = {}] = await rows(sql`
        select
          count(*) filter (where ${live(now)}) as live,
          count(*) filter (where ${t.expiresAt} <= ${at(now)}) as expired,
          count(*) filter (where ${t.createdAt} > ${at(now)} - interval '1 hour') as created_last_hour,
          count(*) filter (where ${t.createdAt} > ${at(now)} - interval '1 day') as created_last_day,
          percentile_disc(0.5) within group (order by ${size}) filter (where ${live(now)}) as p50,
          percentile_disc(0.95) within group (order by ${size}) filter (where ${live(now)}) as p95,
          max(${size}) filter (where ${live(now)}) as max
        from ${tableName}`);
      const top: StoreStats["top"] = [];
      for (const [field, column] of indexed) {
        const values = await rows(sql`
          select ${column} as value, count(*) as sessions from ${tableName}
          where ${live(now)} and ${column} is not null
          group by ${column} order by count(*) desc, ${column} limit ${options.top}`);
        top.push({
          field,
          values: values.map((v) => ({ value: v.value as string | number | boolean, sessions: num(v.sessions) })),
        });
      }
      return {
        live: num(row.live),
        expired: num(row.expired),
        createdLastHour: num(row.created_last_hour),
        createdLastDay: num(row.created_last_day),
        bytes: { p50: num(row.p50), p95: num(row.p95), max: num(row.max) },
        top,
      };
    },

    async countExpired(now: Date): Promise<number> {
      const [row = {}] = await rows(sql`select count(*) as n from ${tableName} where ${t.expiresAt} <= ${at(now)}`);
      return num(row.n);
    },

    async vacuum(): Promise<void> {
      await db.execute(sql`vacuum (analyze) ${tableName}`);
    },
  };
}
