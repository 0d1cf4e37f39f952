// A/B harness: node --import tsx bench/tmp-ab.mts <cycle> <conc> <reps> <names...>
import { Redis } from "ioredis";
import { create as floor } from "./contenders/redis-floor.js";
import { create as cr } from "./contenders/connect-redis.js";
import { create as tr } from "./contenders/tessera-redis.js";
import { create as ideal } from "./tmp-ideal.mts";
import { runCycle, type Contender } from "./workload.js";
const [cycle = "modify", concS = "1", repsS = "3", ...names] = process.argv.slice(2);
const env = (p: string) => ({ databaseUrl: "", redisUrl: "redis://127.0.0.1:6379", redisPrefix: `tmpab:${p}:`, poolSize: 16 });
const all: Record<string, () => Promise<Contender>> = { floor: () => floor(env("f")), cr: () => cr(env("c")), tr: () => tr(env("t")), ip: () => ideal(env("ip"), "plain"), ic: () => ideal(env("ic"), "concat") };
const group: [string, Contender][] = [];
for (const n of names.length ? names : ["floor", "cr", "tr"]) { const c = await all[n]!(); await c.seed(2000); group.push([n, c]); }
const res: Record<string, { ops: number[]; cpu: number[] }> = {};
for (let rep = 0; rep < Number(repsS); rep++) for (const [n, c] of group) {
  const m = await runCycle(c, cycle as "modify", { sessions: 2000, concurrency: Number(concS), warmupMs: 300, durationMs: 1000 }, rep);
  (res[n] ??= { ops: [], cpu: [] }); res[n].ops.push(Math.round(m.opsPerSec)); res[n].cpu.push(Math.round(m.cpuUsPerOp));
}
for (const [n, r] of Object.entries(res)) console.log(n.padEnd(6), "ops", r.ops.join(" "), " cpu", r.cpu.join(" "));
for (const [, c] of group) await c.close();
const r = new Redis(); const keys = await r.keys("tmpab:*"); if (keys.length) await r.del(...keys); r.disconnect();
