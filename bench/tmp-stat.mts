import { Redis } from "ioredis";
import { create as ideal } from "./tmp-ideal.mts";
import { create as tr } from "./contenders/tessera-redis.js";
import { runCycle } from "./workload.js";
const r = new Redis();
for (const [n, mk] of [["ideal", () => ideal({ databaseUrl: "", redisUrl: "redis://127.0.0.1:6379", redisPrefix: "tmpst:i:", poolSize: 1 }, "plain")], ["tr", () => tr({ databaseUrl: "", redisUrl: "redis://127.0.0.1:6379", redisPrefix: "tmpst:t:", poolSize: 1 })]] as const) {
  const c = await mk(); await c.seed(2000);
  for (const cycle of ["read", "modify"] as const) {
    await r.config("RESETSTAT");
    const m = await runCycle(c, cycle, { sessions: 2000, concurrency: 64, warmupMs: 200, durationMs: 1500 }, 1);
    const stats = (await r.info("commandstats")).split("\n").filter((l) => /calls=\d{4,}/.test(l)).map((l) => l.replace(/cmdstat_(\w+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+).*/, "$1 $2 $3")).join(" | ");
    console.log(n, cycle, Math.round(m.opsPerSec), "cpu", Math.round(m.cpuUsPerOp), "::", stats);
  }
  await c.close();
}
const keys = await r.keys("tmpst:*"); if (keys.length) await r.del(...keys); r.disconnect();
