import { randomBytes } from "node:crypto";
import { RedisStore } from "connect-redis";
import { Redis } from "ioredis";
import { type BenchEnv, type Contender, seedParallel, TTL_SECONDS } from "../workload.js";
import { expressSession, expressStoreOps } from "./peer-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "connect-redis (express-session)";

/** connect-redis 8 on ioredis, driven as express-session drives it (touch on every read). */
export async function create(env: BenchEnv): Promise<Contender> {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const store = new RedisStore({ client: redis, prefix: env.redisPrefix, ttl: TTL_SECONDS });
  const ids: string[] = [];
  const ops = expressStoreOps(store, ids);
  return {
    name: NAME,
    backend: "redis",
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        ids[i] = randomBytes(24).toString("base64url");
        await ops.set(ids[i], expressSession(i));
      });
    },
    read: ops.read,
    modify: ops.modify,
    async close() {
      redis.disconnect();
    },
  };
}
