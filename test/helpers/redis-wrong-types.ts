import type { Cluster, Redis } from "ioredis";

/**
 * B12: a key of every Redis type but a hash, written with plain commands over whatever `key`
 * held: what an application sharing the prefix, or an attacker with Redis access, could leave
 * where Tessera expects a session or a cached copy.
 */
export function wrongTypes(redis: Redis | Cluster): Record<string, (key: string) => Promise<void>> {
  const over = (write: (key: string) => Promise<unknown>) => async (key: string) => {
    await redis.del(key);
    await write(key);
  };
  return {
    "a string": over((key) => redis.set(key, "not a session")),
    "a list": over((key) => redis.rpush(key, "rev", "1")),
    "a set": over((key) => redis.sadd(key, "rev")),
    "a sorted set": over((key) => redis.zadd(key, 1, "rev")),
    "a stream": over((key) => redis.xadd(key, "*", "rev", "1")),
  };
}
