import { Redis } from "ioredis";
import { redisStore } from "../lib.js";
import type { BenchEnv, Contender } from "../workload.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "Tessera redisStore";

/** Tessera on `redisStore`, through `defineSession` as an app uses it. */
export async function create(env: BenchEnv): Promise<Contender> {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const ops = tesseraOps(define({ store: redisStore({ redis, prefix: env.redisPrefix }) }));
  return {
    name: NAME,
    backend: "redis",
    ...ops,
    async close() {
      redis.disconnect();
    },
  };
}
