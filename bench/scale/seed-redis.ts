import type { Redis } from "ioredis";
import { toHashFields } from "../../src/stores/redis/hash-codec.js";
import { TTL_SECONDS } from "../workload.js";
import { fillerId, PAYLOAD_VARIANTS, storedData } from "./stored-data.js";

export interface RedisSeed {
  /** Keys written, all live. */
  rows: number;
  /** Ids of the timed sessions, among the `rows`. */
  sampleIds: readonly string[];
  /** The `redisStore` prefix. */
  prefix: string;
  tag: string;
  log: (line: string) => void;
}

// Sessions per pipeline, and pipelines in flight: enough to keep Redis busy, not enough to
// hold more than a few MB of commands in this process.
const BATCH = 2_000;
const IN_FLIGHT = 4;

/**
 * Writes the hashes `redisStore.create` writes (`toHashFields` of the record, then a PEXPIRE),
 * pipelined, without going through the store's script one session at a time.
 */
export async function seedRedis(redis: Redis, seed: RedisSeed): Promise<void> {
  const now = Date.now();
  const fields = Array.from({ length: PAYLOAD_VARIANTS }, (_, k) =>
    toHashFields({
      id: "",
      data: storedData(k),
      expiresAt: new Date(now + TTL_SECONDS * 1000),
      absoluteExpiresAt: null,
      createdAt: new Date(now),
      updatedAt: new Date(now),
      schemaVersion: 1,
      rev: 1,
      successorId: null,
    }),
  );
  const step = Math.floor(seed.rows / seed.sampleIds.length);
  const idOf = (i: number) =>
    i % step === 0 && i / step < seed.sampleIds.length ? seed.sampleIds[i / step]! : fillerId(seed.tag, i);
  const started = performance.now();
  let next = 0;
  let reported = 0;
  const worker = async () => {
    while (next < seed.rows) {
      const from = next;
      next = Math.min(seed.rows, next + BATCH);
      const pipeline = redis.pipeline();
      for (let i = from; i < next; i++) {
        // The key redisStore reads: `${prefix}s:{${id}}`.
        const key = `${seed.prefix}s:{${idOf(i)}}`;
        pipeline.hset(key, ...fields[i % PAYLOAD_VARIANTS]!);
        pipeline.pexpire(key, TTL_SECONDS * 1000);
      }
      const replies = await pipeline.exec();
      const failed = replies?.find(([error]) => error !== null);
      if (failed) throw failed[0];
      if (next - reported >= 200_000) {
        reported = next;
        seed.log(`    ${next.toLocaleString("en-US")} keys`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  seed.log(`    seeded ${seed.rows.toLocaleString("en-US")} keys in ${seconds.toFixed(1)} s`);
}
