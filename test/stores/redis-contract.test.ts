import { randomUUID } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { redisStore } from "../../src/stores/redis/redis-store.js";
import { keysOn } from "../helpers/redis-keys.js";
import { canStartRedis, freePorts, redisUrl, startCluster } from "../helpers/redis-server.js";
import { wrongTypes } from "../helpers/redis-wrong-types.js";
import { describeStore, type StoreHarness } from "./store-contract.js";

// Every run writes under its own prefix on the shared Redis, so parallel runs never meet.
const testPrefix = () => `tessera-test:${randomUUID()}:`;

describeStore(
  "redis (standalone)",
  async () => {
    const redis = new Redis(redisUrl as string);
    return redisHarness(redis, [redis], testPrefix());
  },
  { skip: !redisUrl },
);

describeStore(
  "redis cluster (3 nodes)",
  async () => {
    const ports = await freePorts(23000, 3, { bus: true });
    const cluster = await startCluster(ports);
    const redis = new Cluster(cluster.nodes);
    // The masters are known once the client has read the slot map.
    if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
    const harness = redisHarness(redis, () => redis.nodes("master"), testPrefix());
    return {
      ...harness,
      close: async () => {
        await harness.close();
        await cluster.stop();
      },
    };
  },
  { skip: !canStartRedis },
);

/** B12: garbage in each field of a session hash, written with plain HSET/HDEL (`hash-codec.ts`). */
function garbageOf(redis: Redis | Cluster, prefix: string): Record<string, (id: string) => Promise<void>> {
  const key = (id: string) => `${prefix}s:{${id}}`;
  const field = (name: string, value: string) => async (id: string) => {
    await redis.hset(key(id), name, value);
  };
  return {
    "exp not a number": field("exp", "not-a-time"),
    "exp empty": field("exp", ""),
    "exp past the Date range": field("exp", "9".repeat(16)),
    "exp with a NUL": field("exp", "1\u00009999999999999"),
    "rev not a number": field("rev", "x"),
    "rev fractional": field("rev", "1.5"),
    "created not a number": field("created", "yesterday"),
    "updated empty": field("updated", ""),
    "ver not a number": field("ver", "v2"),
    "abs not a number": field("abs", "never"),
    "an entry that is not JSON": field("d:userId", "{not json"),
    "an entry holding a raw NUL": field("d:userId", '{"json":"a\u0000b"}'),
    "an entry of invalid UTF-8": async (id) => {
      await redis.hset(key(id), "d:userId", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    },
    "rev missing": async (id) => {
      await redis.hdel(key(id), "rev");
    },
    "created missing": async (id) => {
      await redis.hdel(key(id), "created");
    },
    // A key of another type than a hash at the session key: WRONGTYPE to every hash command.
    ...Object.fromEntries(
      Object.entries(wrongTypes(redis)).map(([kind, plant]) => [`${kind} at the session key`, (id: string) => plant(key(id))]),
    ),
  };
}

/**
 * The conformance harness on a Redis client: raw views of every key under `prefix`. In a
 * Cluster every master holds a share of the keys, so each one is scanned.
 */
function redisHarness(redis: Redis | Cluster, nodes: Redis[] | (() => Redis[]), prefix: string): StoreHarness {
  const masters = () => (typeof nodes === "function" ? nodes() : nodes);
  const everyKey = (match: string) => keysOn(masters(), match);
  const deleteAll = async () => {
    await Promise.all((await everyKey(`${prefix}*`)).map((key) => redis.del(key)));
  };
  return {
    store: redisStore({ redis, prefix, indexes: ["userId"] }),
    expiresByItself: true,
    // A hash whose metadata does not parse: corrupt (B12), deleted, a fresh session.
    async plantCorrupt(id) {
      await redis.hset(`${prefix}s:{${id}}`, { rev: "1", exp: "not-a-time", "d:userId": "{not json" });
    },
    garbage: garbageOf(redis, prefix),
    async dump() {
      const keys = await everyKey(`${prefix}*`);
      const values = await Promise.all(
        keys.map(async (key) => {
          const type = await redis.type(key);
          if (type === "hash") return redis.hgetall(key);
          if (type === "set") return redis.smembers(key);
          return type === "string" ? redis.get(key) : type;
        }),
      );
      return JSON.stringify(Object.fromEntries(keys.map((key, i) => [key, values[i]])));
    },
    async count() {
      const keys = await everyKey(`${prefix}s:*`);
      // A key of another type at a session key (B12 garbage) counts: something is held there.
      const held = await Promise.all(
        keys.map(async (key) => ((await redis.type(key)) === "hash" ? redis.hmget(key, "rev", "exp") : [key, key])),
      );
      return held.filter(([rev, exp]) => rev !== null && exp !== null).length;
    },
    reset: deleteAll,
    async close() {
      await deleteAll();
      await redis.quit();
    },
  };
}
