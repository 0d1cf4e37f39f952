import { Redis } from "ioredis";
import { define } from "../contenders/tessera-common.js";
import { redisStore } from "../lib.js";
import type { Sizes } from "./postgres-load.js";
import { compareReads, type Rounds, type Target } from "./read-latency.js";
import { redisMemory } from "./redis-memory.js";
import type { Scratch } from "./resources.js";
import type { LoadLine, RedisMemory } from "./result.js";
import { seedRedis } from "./seed-redis.js";
import { makeSamples } from "./stored-data.js";

// Keys whose memory is measured: plenty for a median of near-identical hashes.
const MEMORY_SAMPLE = 1_000;

/**
 * Tessera `redisStore` with `small` and with `large` sessions under two prefixes, then the memory
 * of the large side's sampled keys. Both keyspaces are deleted before returning: a million of
 * these hashes is gigabytes of a Redis that other work shares.
 */
export async function redisLoad(
  scratch: Scratch,
  redisUrl: string,
  sizes: Sizes,
  rounds: Rounds,
  log: (line: string) => void,
): Promise<{ line: LoadLine; memory: RedisMemory }> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const prefixes: string[] = [];
  try {
    const side = async (rows: number): Promise<Target & { keys: string[] }> => {
      const prefix = scratch.prefix(`r${rows}`);
      prefixes.push(prefix);
      const sessions = define({ store: redisStore({ redis, prefix }) });
      const samples = makeSamples(Math.min(sizes.samples, rows), sessions.cookieName);
      log(`  redis: seeding ${rows.toLocaleString("en-US")} sessions`);
      await seedRedis(redis, { rows, sampleIds: samples.ids, prefix, tag: `r${rows}`, log });
      return { sessions, cookies: samples.cookies, keys: samples.ids.map((id) => `${prefix}s:{${id}}`) };
    };
    const small = await side(sizes.small);
    const before = await usedMemory(redis);
    const large = await side(sizes.large);
    // A cross-check of MEMORY USAGE that includes the keyspace's own dictionaries and expiry
    // table; rough, since other work shares this Redis.
    log(`  redis: used_memory grew ${Math.round(((await usedMemory(redis)) - before) / sizes.large)} B per session`);
    log("  redis: timing reads");
    const latency = await compareReads(small, large, rounds);
    const memory = await redisMemory(redis, large.keys.slice(0, MEMORY_SAMPLE));
    return {
      line: {
        backend: "redis",
        small: sizes.small,
        large: sizes.large,
        p50SmallUs: latency.small.p50Us,
        p50LargeUs: latency.large.p50Us,
        p99SmallUs: latency.small.p99Us,
        p99LargeUs: latency.large.p99Us,
      },
      memory,
    };
  } finally {
    for (const prefix of prefixes) {
      const deleted = await scratch.deletePrefix(prefix);
      log(`  redis: deleted ${deleted.toLocaleString("en-US")} keys under ${prefix}`);
    }
    redis.disconnect();
  }
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info("memory");
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}
