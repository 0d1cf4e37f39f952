import { drizzle } from "drizzle-orm/postgres-js";
import { Redis } from "ioredis";
import postgres from "postgres";
import { drizzleStore, migrate, redisCache } from "../lib.js";
import type { BenchEnv, Contender } from "../workload.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label. */
export const NAME = "Tessera drizzleStore + redisCache";

/** Tessera on `drizzleStore` over postgres.js with `redisCache` in front (reads hit the cache). */
export async function create(env: BenchEnv): Promise<Contender> {
  const client = postgres(env.databaseUrl, { max: env.poolSize, onnotice: () => {} });
  const db = drizzle({ client });
  await migrate(db);
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const ops = tesseraOps(define({ store: drizzleStore({ db }), cache: redisCache({ redis, prefix: env.redisPrefix }) }));
  return {
    name: NAME,
    backend: "postgres",
    ...ops,
    async close() {
      redis.disconnect();
      await client.end({ timeout: 5 });
    },
  };
}
