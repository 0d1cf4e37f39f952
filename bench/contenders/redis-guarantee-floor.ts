import { createHash, randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (`--check` prints the bars' ratios for it beside Tessera's). */
export const NAME = "raw ioredis, the guarantees alone";

// Update-only: a patch of a key that is gone writes nothing (no resurrection), and moves the TTL.
const PATCH = `
if redis.call('HEXISTS', KEYS[1], 'exp') == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;
// The fastest read of a hash this project knows (Tessera's `hashReader`, without its NUL check).
const READ = "return table.concat(redis.call('HGETALL', KEYS[1]), '\\0')";

interface Scripts {
  guaranteeRead(key: string): Promise<string>;
  guaranteePatch(key: string, ttlMs: number, ...pairs: string[]): Promise<0 | 1>;
}

/**
 * What the storage guarantees of issue 14 cost on their own, written straight on ioredis with no
 * library: the token is hashed (SHA-256) into the key, each session key is its own hash field
 * (per-key saves: a patch writes only what changed), and a patch is a script that writes
 * nothing when the record is gone (update-only) and moves the expiry (rolling). No schema
 * validation, no size limit, no late-write check, no index, no cookie: the least any library
 * keeping these guarantees can spend per request, to read Tessera's bars against.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  redis.defineCommand("guaranteeRead", { lua: READ, numberOfKeys: 1 });
  redis.defineCommand("guaranteePatch", { lua: PATCH, numberOfKeys: 1 });
  const scripts = redis as unknown as Scripts;
  const tokens: string[] = [];
  const keyOf = (token: string) => `${env.redisPrefix}${createHash("sha256").update(token).digest("hex")}`;
  const load = async (key: string, i: number) => {
    const pairs = (await scripts.guaranteeRead(key)).split("\0");
    if (pairs.length < 2) throw new Error(`session ${i} not found`);
    const data: Record<string, unknown> = {};
    for (let k = 0; k < pairs.length; k += 2) {
      const field = pairs[k] as string;
      if (field.startsWith("d:")) data[field.slice(2)] = JSON.parse(pairs[k + 1] as string);
    }
    return data;
  };
  return {
    name: NAME,
    backend: "redis",
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        tokens[i] = randomBytes(32).toString("base64url");
        const key = keyOf(tokens[i]);
        const fields = ["exp", String(Date.now() + TTL_SECONDS * 1000)];
        for (const [k, v] of Object.entries(makePayload(i))) fields.push(`d:${k}`, JSON.stringify({ json: v }));
        await redis.hset(key, ...fields);
        await redis.pexpire(key, TTL_SECONDS * 1000);
      });
    },
    async read(i) {
      await load(keyOf(tokens[i] as string), i);
    },
    async modify(i) {
      const key = keyOf(tokens[i] as string);
      await load(key, i);
      const exp = String(Date.now() + TTL_SECONDS * 1000);
      const written = await scripts.guaranteePatch(
        key,
        TTL_SECONDS * 1000,
        "exp",
        exp,
        "d:lastSeen",
        JSON.stringify({ json: new Date() }),
      );
      if (written !== 1) throw new Error(`session ${i} not found`);
    },
    async close() {
      redis.disconnect();
    },
  };
}
