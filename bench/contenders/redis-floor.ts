import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "raw ioredis GET+SET";

/** The Redis floor: GET + JSON.parse (read), then JSON.stringify + SET EX (modify). */
export async function create(env: BenchEnv): Promise<Contender> {
  const redis = new Redis(env.redisUrl);
  redis.on("error", () => {});
  const keys: string[] = [];
  return {
    name: NAME,
    backend: "redis",
    floor: true,
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        keys[i] = `${env.redisPrefix}${randomBytes(32).toString("base64url")}`;
        await redis.set(keys[i], JSON.stringify(makePayload(i)), "EX", TTL_SECONDS);
      });
    },
    async read(i) {
      const raw = await redis.get(keys[i]!);
      if (raw === null) throw new Error(`session ${i} not found`);
      JSON.parse(raw);
    },
    async modify(i) {
      const key = keys[i]!;
      const raw = await redis.get(key);
      if (raw === null) throw new Error(`session ${i} not found`);
      const data = JSON.parse(raw) as Record<string, unknown>;
      data.lastSeen = new Date();
      await redis.set(key, JSON.stringify(data), "EX", TTL_SECONDS);
    },
    async close() {
      redis.disconnect();
    },
  };
}
