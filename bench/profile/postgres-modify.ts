/**
 * CPU profile of Tessera on `drizzleStore` (postgres.js) at a given concurrency: N modify cycles
 * (load + one set + commit, as the bench's) and N read cycles (load + one get + commit) through
 * `defineSession`, as an app does them, against a real Postgres in a database of its own
 * (created with `synchronous_commit` off, dropped at the end). Counts the statements each cycle
 * sends, too (every statement drizzle sends goes through `client.unsafe`; postgres.js' own
 * `debug` hook would capture a stack per query and distort the profile).
 *
 *   PROFILE_DIR=/tmp/prof node --import tsx bench/profile/postgres-modify.ts [cycles] [modify|read|both] [concurrency]
 *   node --import tsx bench/profile/summarize.ts /tmp/prof/pg-<phase>.cpuprofile
 *
 * With PROFILE_DIR set, each phase's timed window is profiled through `node:inspector` and
 * written to PROFILE_DIR/pg-<phase>.cpuprofile; the inspector slows the process, so take ops/s
 * from a run without it. DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test) names
 * the server. Prints ops/s, client CPU µs per cycle and statements per cycle for each phase.
 */
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { define, tesseraOps } from "../contenders/tessera-common.js";
import { drizzleStore, migrate } from "../lib.js";
import { createAdminDatabase, dropDatabases } from "../resources.js";
import { setSyncCommit } from "../sync-commit.js";

const cycles = Number(process.argv[2] ?? 20_000);
const phase = process.argv[3] ?? "both";
const CONCURRENCY = Number(process.argv[4] ?? 64);
const SESSIONS = 1_000;
const adminUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const name = `tessera_profile_${randomUUID().slice(0, 8)}`;
const created: string[] = [];

let statements = 0;
const url = await createAdminDatabase(adminUrl, name, created);
await setSyncCommit(adminUrl, url, name, "off");
const client = postgres(url, { max: 16, onnotice: () => {} });
const unsafe = client.unsafe.bind(client);
client.unsafe = ((...args: Parameters<typeof unsafe>) => {
  statements++;
  return unsafe(...args);
}) as typeof unsafe;
try {
  const db = drizzle({ client });
  await migrate(db);
  const ops = tesseraOps(define({ store: drizzleStore({ db }) }));
  await ops.seed(SESSIONS);

  const run = async (label: string, cycle: (i: number) => Promise<void>) => {
    let next = 0;
    const worker = async () => {
      while (next < cycles) {
        const i = next++;
        await cycle(i % SESSIONS);
      }
    };
    // Warm-up: JIT and the per-connection prepared statements.
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
    statements = 0;
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    const perCycle = statements / cycles;
    if (profiler) {
      const { profile } = await profiler.post("Profiler.stop");
      writeFileSync(`${process.env.PROFILE_DIR}/pg-${label}.cpuprofile`, JSON.stringify(profile));
      profiler.disconnect();
    }
    const cpuUs = (used.user + used.system) / cycles;
    console.log(
      `${label} c${CONCURRENCY}: ${Math.round(cycles / seconds)} ops/s, client CPU ${cpuUs.toFixed(0)} µs/cycle, ${perCycle.toFixed(2)} statements/cycle`,
    );
  };
  if (phase === "both" || phase === "modify") await run("modify", ops.modify);
  if (phase === "both" || phase === "read") await run("read", ops.read);
} finally {
  await client.end({ timeout: 5 });
  await dropDatabases(adminUrl, created);
}
