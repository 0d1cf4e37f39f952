/**
 * CPU profile of Tessera on `redisStore` at concurrency 64: N modify cycles (load + two sets +
 * commit) and N read cycles (load + one get + commit) through `defineSession`, as an app does
 * them, against a real Redis under a unique key prefix (deleted at the end).
 *
 *   PROFILE_DIR=/tmp/prof node --import tsx bench/profile/redis-modify.ts [cycles] [modify|read|both]
 *   node --import tsx bench/profile/summarize.ts /tmp/prof/<file>.cpuprofile
 *
 * With PROFILE_DIR set, each phase's timed window (not the seeding, warm-up or module loading)
 * is profiled through `node:inspector` and written to PROFILE_DIR/<phase>.cpuprofile; the
 * inspector slows the process, so take ops/s from a run without it.
 * REDIS_URL (default redis://127.0.0.1:6379). Prints ops/s and client CPU µs per cycle
 * (`process.cpuUsage()` over the timed window ÷ cycles) for each phase.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { Redis } from "ioredis";
import { redisStore } from "../src/stores/redis/index.js";
import { define } from "./contenders/tessera-common.js";

const cycles = Number(process.argv[2] ?? 20_000);
const phase = process.argv[3] ?? "both";
const SESSIONS = 1_000;
const CONCURRENCY = Number(process.env.CONC ?? 64);
const prefix = `tessera_profile:${randomUUID().slice(0, 8)}:`;

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
redis.on("error", () => {});
const sessions = define({ store: redisStore({ redis, prefix }) });

// Two sets, as the modify does (the bench's own modify sets one key).
async function modify(i: number) {
  const session = await sessions.load(cookie(i));
  if (session.isNew) throw new Error(`session ${i} not found`);
  session.set("lastSeen", new Date());
  session.set("beta", i % 2 === 0);
  await session.commit();
}
const cookies: string[] = [];
const cookie = (i: number) => cookies[i];

async function run(name: string, cycle: (i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < cycles) {
      const i = next++;
      await cycle(i % SESSIONS);
    }
  };
  // Warm-up: JIT and the scripts' EVALSHA cache.
  next = cycles - Math.min(cycles, 2_000);
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  next = 0;
  const profiler = process.env.PROFILE_DIR ? new Session() : undefined;
  if (profiler) {
    profiler.connect();
    await profiler.post("Profiler.enable");
    await profiler.post("Profiler.setSamplingInterval", { interval: 100 });
    await profiler.post("Profiler.start");
  }
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuUs = (used.user + used.system) / cycles;
  if (profiler) {
    const { profile } = await profiler.post("Profiler.stop");
    writeFileSync(`${process.env.PROFILE_DIR}/${name}.cpuprofile`, JSON.stringify(profile));
    profiler.disconnect();
  }
  console.log(`${name} c${CONCURRENCY}: ${Math.round(cycles / seconds)} ops/s, client CPU ${cpuUs.toFixed(0)} µs/cycle`);
}

try {
  // Seed, keeping each session's cookie for the loads.
  for (let i = 0; i < SESSIONS; i++) {
    const s = await sessions.load(null);
    s.update({
      userId: `user_${String(i).padStart(8, "0")}_${"x".repeat(24)}`,
      cart: Array.from({ length: 10 }, (_, k) => ({ sku: `SKU-${i}-${k}-ABCDEFGHIJKLMNOP`, qty: 1 + k, price: 9.99 })),
      lastSeen: new Date(),
      theme: "light",
    });
    const [header] = await s.commit();
    if (header === undefined) throw new Error("seeding: no cookie");
    cookies[i] = header.slice(0, header.indexOf(";"));
  }
  if (phase === "both" || phase === "modify") await run("modify", modify);
  if (phase === "both" || phase === "read")
    await run("read", async (i) => {
      const session = await sessions.load(cookie(i));
      if (session.get("theme") === undefined || session.isNew) throw new Error(`session ${i} not found`);
      await session.commit();
    });
} finally {
  let cursor = "0";
  do {
    const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = nextCursor;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  redis.disconnect();
}
