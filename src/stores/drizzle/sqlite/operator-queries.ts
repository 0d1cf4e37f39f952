import { getTableName, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import type { StoreStats } from "../../../store.js";
import type { SqliteDb } from "../dialects.js";
import type { SqliteSessionsTable } from "./sessions-table.js";

/**
 * The queries behind `tesserae stats`, `purge --dry-run` and the clean-up after a purge, on
 * SQLite. None runs on the request path.
 */
export function sqliteOperatorQueries(db: SqliteDb, t: SqliteSessionsTable, indexed: ReadonlyMap<string, SQLiteColumn>) {
  const T = sql.identifier(getTableName(t));
  const rows = async (query: ReturnType<typeof sql>) =>
    ((await db.values(query)) as ArrayLike<unknown>[]).map((row) => Array.prototype.slice.call(row) as unknown[]);
  const num = (value: unknown) => (value === null || value === undefined ? 0 : Number(value));
  const live = (now: Date) => sql`${t.expiresAt} > ${now.getTime()} and ${t.successorId} is null`;
  const size = sql`length(cast(${t.data} as blob))`;

  return {
    async stats(now: Date, options: { top: number }): Promise<StoreStats> {
      const at = now.getTime();
      const [[liveCount, expired, hour, day, max] = []] = await rows(sql`
        select count(*) filter (where ${live(now)}), count(*) filter (where ${t.expiresAt} <= ${at}),
          count(*) filter (where ${t.createdAt} > ${at - 3_600_000}), count(*) filter (where ${t.createdAt} > ${at - 86_400_000}),
          max(${size}) filter (where ${live(now)})
        from ${T}`);
      // percentile_disc, which SQLite lacks: the first size whose cumulative share reaches p.
      const percentile = async (p: number) => {
        const n = num(liveCount);
        if (n === 0) return 0;
        const [[value] = []] = await rows(
          sql`select ${size} from ${T} where ${live(now)} order by 1 limit 1 offset ${Math.ceil(p * n) - 1}`,
        );
        return num(value);
      };
      const top: StoreStats["top"] = [];
      for (const [field, column] of indexed) {
        // Integers as reals: libSQL throws on any integer past 2^53 (one session's `visits: 2 ** 53`
        // failed the whole report), and a client reading integers as BigInt or text (better-sqlite3's
        // safeIntegers, libSQL's intMode) would report values that are no numbers
        // (test/attacks/issue16-sqlite-stats-integers.test.ts).
        const value = sql`case when typeof(${column}) = 'integer' then cast(${column} as real) else ${column} end`;
        const values = await rows(sql`
          select ${value}, count(*) from ${T} where ${live(now)} and ${column} is not null
          group by ${column} order by count(*) desc, ${column} limit ${options.top}`);
        top.push({
          field,
          values: values.map(([value, sessions]) => ({
            value: column.mapFromDriverValue(value) as string | number | boolean,
            sessions: num(sessions),
          })),
        });
      }
      return {
        live: num(liveCount),
        expired: num(expired),
        createdLastHour: num(hour),
        createdLastDay: num(day),
        bytes: { p50: await percentile(0.5), p95: await percentile(0.95), max: num(max) },
        top,
      };
    },

    async countExpired(now: Date): Promise<number> {
      const [[n] = []] = await rows(sql`select count(*) from ${T} where ${t.expiresAt} <= ${now.getTime()}`);
      return num(n);
    },

    /**
     * SQLite reuses the pages of deleted rows by itself; a full `VACUUM` would rewrite the whole
     * database file (every table of the app, not only the sessions) under an exclusive lock and
     * need as much free disk again. So this refreshes the planner's statistics of the table and
     * hands free pages back to the file system only where the database was made with
     * `auto_vacuum = incremental` (elsewhere the PRAGMA does nothing).
     */
    async vacuum(): Promise<void> {
      await db.run(sql`analyze ${T}`);
      await db.run(sql`pragma incremental_vacuum`);
    },
  };
}
