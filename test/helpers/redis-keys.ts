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
