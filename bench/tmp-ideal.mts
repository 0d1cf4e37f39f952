// The least a per-key, update-only, hashed-token Redis session can do (no validation, no core).
import { createHash, randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { type BenchEnv, type Contender, makePayload, seedParallel } from "./workload.js";
const PATCH = `
local m = redis.call('HGET', KEYS[1], 'm')
if not m then return false end
redis.call('HSET', KEYS[1], 'm', ARGV[1], unpack(ARGV, 2))
return 1
`;
export async function create(env: BenchEnv, mode: "plain" | "concat" = "plain"): Promise<Contender> {
  const redis = new Redis(env.redisUrl);
  redis.defineCommand("idealPatch", { lua: PATCH, numberOfKeys: 1 });
  redis.defineCommand("idealRead", { lua: "return table.concat(redis.call('HGETALL', KEYS[1]), '\\0')", numberOfKeys: 1 });
  const tokens: string[] = [];
  const key = (t: string) => env.redisPrefix + createHash("sha256").update(t).digest("hex");
  const load = async (i: number) => {
    let h: string[];
    if (mode === "plain") h = (await (redis as any).call("HGETALL", key(tokens[i]!))) as string[];
    else h = ((await (redis as any).idealRead(key(tokens[i]!))) as string).split("\0");
    const data: Record<string, unknown> = {};
    for (let k = 0; k < h.length; k += 2) if (h[k]!.startsWith("d:")) data[h[k]!.slice(2)] = JSON.parse(h[k + 1]!);
    return data;
  };
  return {
    name: `ideal ${mode}`, backend: "redis",
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        tokens[i] = randomBytes(32).toString("base64url");
        const p = makePayload(i) as unknown as Record<string, unknown>;
        const f: string[] = ["m", `1|${Date.now()}|0`];
        for (const [k, v] of Object.entries(p)) f.push(`d:${k}`, JSON.stringify({ json: v }));
        await redis.hset(key(tokens[i]!), ...f);
      });
    },
    async read(i) { const d = await load(i); if (d.theme === undefined) throw new Error("x"); },
    async modify(i) {
      await load(i);
      const r = await (redis as any).idealPatch(key(tokens[i]!), `2|${Date.now()}|0`, "d:lastSeen", JSON.stringify({ json: new Date().toISOString(), meta: { values: ["Date"], v: 1 } }));
      if (r !== 1) throw new Error("gone");
    },
    async close() { redis.disconnect(); },
  };
}
