/**
 * The scale lines of `npm run bench`: read latency with 10,000 vs 1,000,000 sessions stored
 * (Postgres and Redis), Redis memory per session, and purging 1,000,000 expired rows, each
 * through Tessera's own stores. The big tables are seeded server-side in Tessera's stored
 * format; only the timed sessions have tokens. Everything runs in databases and a Redis prefix
 * of its own, removed at the end.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { postgresLoad, type Sizes } from "./postgres-load.js";
import { type PurgePlan, purgeRuns } from "./purge.js";
import type { Rounds } from "./read-latency.js";
import { redisLoad } from "./redis-load.js";
import { Scratch } from "./resources.js";
import type { ScaleResult } from "./result.js";

export type { LoadLine, PurgeLine, RedisMemory, ScaleResult } from "./result.js";
export { scaleTables } from "./tables.js";

interface Config {
  sizes: Sizes;
  rounds: Rounds;
  purge: PurgePlan;
}

const FULL: Config = {
  sizes: { small: 10_000, large: 1_000_000, samples: 5_000 },
  rounds: { rounds: 3, warmupMs: 300, roundMs: 1_000 },
  purge: { expired: 1_000_000, live: 100_000, batchSizes: [1_000, 10_000, 50_000], capMs: 60_000 },
};

const QUICK: Config = {
  sizes: { small: 1_000, large: 20_000, samples: 500 },
  rounds: { rounds: 2, warmupMs: 50, roundMs: 250 },
  purge: { expired: 20_000, live: 2_000, batchSizes: [10_000], capMs: 5_000 },
};

export async function measureScale(options: {
  quick: boolean;
  databaseUrl: string;
  redisUrl: string;
  redisPrefix: string;
  log?: (line: string) => void;
}): Promise<ScaleResult> {
  const config = options.quick ? QUICK : FULL;
  const log = options.log ?? (() => {});
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const run = randomUUID().replaceAll("-", "").slice(0, 10);
  // Database names are `tessera_bench_scale_<run>_<what>`; Redis keys live under `<redisPrefix><what>:`.
  const scratch = new Scratch(options.databaseUrl, redis, `tessera_bench_scale_${run}`, options.redisPrefix);
  try {
    const postgres = await postgresLoad(scratch, config.sizes, config.rounds, log);
    const { line: redisLine, memory } = await redisLoad(scratch, options.redisUrl, config.sizes, config.rounds, log);
    const purge = await purgeRuns(scratch, config.purge, log);
    return { load: [postgres, redisLine], redisMemory: memory, purge };
  } finally {
    log(`  scale cleanup: ${await scratch.release()}`);
    redis.disconnect();
  }
}
