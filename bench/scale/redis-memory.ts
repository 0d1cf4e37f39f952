import type { Redis } from "ioredis";
import { median } from "../workload.js";
import type { RedisMemory } from "./result.js";

/**
 * Bytes Redis charges one session key, by `MEMORY USAGE … SAMPLES 0` (every field counted; the
 * default extrapolates from five fields, and one of ours, the cart, is most of the hash), and how
 * it encodes the hash: a listpack only while every value fits `hash-max-listpack-value` (64 bytes
 * by default), which the cart entry and any superjson-tagged entry such as a Date exceed.
 */
export async function redisMemory(redis: Redis, keys: readonly string[]): Promise<RedisMemory> {
  const pipeline = redis.pipeline();
  for (const key of keys) {
    pipeline.call("MEMORY", "USAGE", key, "SAMPLES", "0");
    pipeline.call("OBJECT", "ENCODING", key);
  }
  const replies = (await pipeline.exec()) ?? [];
  const bytes: number[] = [];
  const encodings = new Set<string>();
  replies.forEach(([error, reply], i) => {
    if (error !== null) throw error;
    if (i % 2 === 0) bytes.push(Number(reply));
    else encodings.add(String(reply));
  });
  return { bytesPerSession: median(bytes), encoding: [...encodings].join("/") };
}
