import type { Redis } from "ioredis";

/**
 * Every key matching `match` on each of `nodes` (a Cluster spreads its keys over its masters, so
 * each is asked), by SCAN: KEYS would hold up the shared server while it walks the keyspace.
 */
export async function keysOn(nodes: readonly Redis[], match: string): Promise<string[]> {
  const scan = async (node: Redis) => {
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", match, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    return keys;
  };
  return (await Promise.all(nodes.map(scan))).flat();
}

/** Deletes every key matching `match` on `redis` (a test's own prefix, at its end). */
export async function deleteKeys(redis: Redis, match: string): Promise<void> {
  const keys = await keysOn([redis], match);
  for (let i = 0; i < keys.length; i += 1000) await redis.del(...keys.slice(i, i + 1000));
}
