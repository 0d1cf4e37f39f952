import { sql } from "drizzle-orm";
import type { StoreStats } from "../../../store.js";
import type { MysqlDb } from "../dialects.js";
import type { MysqlSessionsTable } from "./sessions-table.js";
import type { IndexedColumns } from "./sql-helpers.js";
import { rowsOf } from "./sql-helpers.js";
import { utc } from "./utc.js";

const HOUR_MS = 3_600_000;

/**
 * The queries behind `tesserae stats`, `purge --dry-run` and the clean-up after a purge, on
 * MySQL/MariaDB. None runs on the request path. MySQL has no `percentile_disc` aggregate
 * (MariaDB only as a window function), so each percentile is the row at its rank among the
 * live rows ordered by size: the same value `percentile_disc` gives.
 */
export function operatorQueries(db: MysqlDb, t: MysqlSessionsTable, indexed: IndexedColumns) {
  const rows = async (query: ReturnType<typeof sql>) => rowsOf(await db.execute(query));
  const num = (value: unknown) => (value === null || value === undefined ? 0 : Number(value));
  const live = (now: Date) => sql`${t.expiresAt} > ${utc(now)} and ${t.successorId} is null`;
  const size = sql`length(${t.data})`;

  return {
    async stats(now: Date, options: { top: number }): Promise<StoreStats> {
      const [row = {}] = await rows(sql`
        select
          coalesce(sum(${live(now)}), 0) as live,
          coalesce(sum(${t.expiresAt} <= ${utc(now)}), 0) as expired,
          coalesce(sum(${t.createdAt} > ${utc(new Date(now.getTime() - HOUR_MS))}), 0) as created_last_hour,
          coalesce(sum(${t.createdAt} > ${utc(new Date(now.getTime() - 24 * HOUR_MS))}), 0) as created_last_day,
          max(case when ${live(now)} then ${size} end) as max
        from ${t}`);
      const liveCount = num(row.live);
      // percentile_disc(p): the first value whose cumulative share reaches p, rank ceil(p × n).
      const percentile = async (p: number) => {
        if (liveCount === 0) return 0;
        const offset = Math.max(Math.ceil(p * liveCount) - 1, 0);
        const [found] = await rows(
          sql`select ${size} as bytes from ${t} where ${live(now)} order by ${size} limit 1 offset ${offset}`,
        );
        return num(found?.bytes);
      };
      const top: StoreStats["top"] = [];
      for (const [field, column] of indexed) {
        const values = await rows(sql`
          select ${column} as value, count(*) as sessions from ${t}
          where ${live(now)} and ${column} is not null
          group by ${column} order by count(*) desc, ${column} limit ${options.top}`);
        const boolean = column.getSQLType() === "boolean";
        top.push({
          field,
          values: values.map((v) => ({
            value: boolean ? Number(v.value) === 1 : (v.value as string | number),
            sessions: num(v.sessions),
          })),
        });
      }
      return {
        live: liveCount,
        expired: num(row.expired),
        createdLastHour: num(row.created_last_hour),
        createdLastDay: num(row.created_last_day),
        bytes: { p50: await percentile(0.5), p95: await percentile(0.95), max: num(row.max) },
        top,
      };
    },

    async countExpired(now: Date): Promise<number> {
      const [row = {}] = await rows(sql`select count(*) as n from ${t} where ${t.expiresAt} <= ${utc(now)}`);
      return num(row.n);
    },

    /**
     * `ANALYZE TABLE`: fresh statistics after a large purge. InnoDB's purge thread already makes
     * deleted rows' space reusable (autovacuum's part); `OPTIMIZE TABLE` would also return it to
     * the OS, but it rebuilds the whole table, which is the operator's call, not every purge's.
     */
    async vacuum(): Promise<void> {
      await db.execute(sql`analyze table ${t}`);
    },
  };
}
