import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { define } from "../contenders/tessera-common.js";
import { drizzleStore, migrate } from "../lib.js";
import type { Scratch } from "./resources.js";
import type { PurgeLine } from "./result.js";
import { seedPostgres } from "./seed-postgres.js";

export interface PurgePlan {
  expired: number;
  live: number;
  batchSizes: readonly number[];
  /** A purge still running after this long is stopped (and reported with the rows it got to). */
  capMs: number;
}

class Stop extends Error {}

/**
 * Times `sessions.purgeExpired({ batchSize, onProgress })` as the CLI runs it. The manager
 * reports after each DELETE that removed rows, so the gaps between reports are the statements'
 * durations (the server's own statement log would need a config change on a shared server). The
 * final statement, the one that finds fewer than `batchSize` rows, is kept apart: it has to show
 * that no expired row is left, which costs a different thing (see `PurgeLine.finalStatementMs`).
 */
async function timePurge(url: string, batchSize: number, capMs: number): Promise<PurgeLine & { expiredLeft: number }> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const sessions = define({ store: drizzleStore({ db: drizzle({ client }) }) });
    const start = performance.now();
    let last = start;
    const statements: number[] = [];
    let rows = 0;
    const onProgress = (deleted: number) => {
      const now = performance.now();
      statements.push(now - last);
      last = now;
      rows = deleted;
      if (now - start > capMs) throw new Stop();
    };
    let stopped = false;
    try {
      rows = await sessions.purgeExpired({ batchSize, onProgress });
    } catch (error) {
      if (!(error instanceof Stop)) throw error;
      stopped = true;
    }
    const end = performance.now();
    // The final statement reported progress itself when it still deleted a few rows.
    const finalReported = !stopped && rows % batchSize !== 0;
    const finalStatementMs = (finalReported ? (statements.pop() ?? 0) : 0) + (end - last);
    const seconds = (end - start) / 1000;
    const [left] = await client<{ live: number; expired: number }[]>`
      select count(*) filter (where expires_at > now())::int as live, count(*) filter (where expires_at <= now())::int as expired
      from sessions`;
    return {
      rows,
      batchSize,
      seconds,
      rowsPerSec: rows / seconds,
      longestStatementMs: statements.length === 0 ? 0 : Math.max(...statements),
      finalStatementMs,
      liveLeft: left!.live,
      expiredLeft: left!.expired,
    };
  } finally {
    await client.end({ timeout: 5 });
  }
}

/**
 * Seeds one database with `expired` rows among `live` ones, then purges a file copy of it per
 * batch size (the last one purges the original), so every batch size starts from the same table.
 */
export async function purgeRuns(scratch: Scratch, plan: PurgePlan, log: (line: string) => void): Promise<PurgeLine[]> {
  const template = await scratch.database("purge");
  const client = postgres(scratch.url(template), { max: 1, onnotice: () => {} });
  try {
    await migrate(drizzle({ client }));
    log(`  purge: seeding ${plan.expired.toLocaleString("en-US")} expired + ${plan.live.toLocaleString("en-US")} live rows`);
    await seedPostgres(client, { rows: plan.expired + plan.live, live: plan.live, tag: "purge", log });
  } finally {
    await client.end({ timeout: 5 });
  }
  const lines: PurgeLine[] = [];
  for (const [k, batchSize] of plan.batchSizes.entries()) {
    const lastOne = k === plan.batchSizes.length - 1;
    const database = lastOne ? template : await scratch.database(`purge${batchSize}`, template);
    const { expiredLeft, ...line } = await timePurge(scratch.url(database), batchSize, plan.capMs);
    await scratch.dropDatabase(database);
    const stopped =
      expiredLeft > 0 ? ` (stopped after ${Math.round(plan.capMs / 1000)} s, ${expiredLeft} expired rows left)` : "";
    log(
      `  purge batch ${batchSize}: ${line.rows} rows in ${line.seconds.toFixed(1)} s, ${Math.round(line.rowsPerSec)} rows/s, ` +
        `longest DELETE ${Math.round(line.longestStatementMs)} ms, final statement ${Math.round(line.finalStatementMs)} ms${stopped}`,
    );
    if (line.liveLeft !== plan.live) throw new Error(`purge left ${line.liveLeft} live rows of ${plan.live}`);
    if (expiredLeft === 0 && line.rows !== plan.expired) throw new Error(`purge reported ${line.rows} rows of ${plan.expired}`);
    lines.push(line);
  }
  return lines;
}
