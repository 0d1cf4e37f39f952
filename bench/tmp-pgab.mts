// node --import tsx bench/tmp-pgab.mts <cycle> <conc> <reps> names...
import postgres from "postgres";
import { create as floor } from "./contenders/postgres-floor.js";
import { create as td } from "./contenders/tessera-drizzle.js";
import { create as cps } from "./contenders/connect-pg-simple.js";
import { create as gf } from "./contenders/postgres-guarantee-floor.js";
import { runCycle, type Contender } from "./workload.js";
const [cycle = "modify", concS = "64", repsS = "3", ...names] = process.argv.slice(2);
const admin = postgres("postgres://postgres@127.0.0.1:5432/test", { onnotice: () => {} });
const all: Record<string, typeof floor> = { floor, td, cps, gf };
const group: [string, Contender, string][] = [];
for (const n of names) {
  const db = `tmp_pgab_${n}`;
  await admin.unsafe(`drop database if exists ${db}`); await admin.unsafe(`create database ${db}`); await admin.unsafe(`alter database ${db} set synchronous_commit = off`);
  const c = await all[n]!({ databaseUrl: `postgres://postgres@127.0.0.1:5432/${db}`, redisUrl: "", redisPrefix: "", poolSize: 16 });
  await c.seed(3000); group.push([n, c, db]);
}
const res: Record<string, { ops: number[]; cpu: number[] }> = {};
for (let rep = 0; rep < Number(repsS); rep++) for (const [n, c] of group) {
  const m = await runCycle(c, cycle as "modify", { sessions: 3000, concurrency: Number(concS), warmupMs: 300, durationMs: 1000 }, rep);
  (res[n] ??= { ops: [], cpu: [] }); res[n].ops.push(Math.round(m.opsPerSec)); res[n].cpu.push(Math.round(m.cpuUsPerOp));
}
for (const [n, r] of Object.entries(res)) console.log(n.padEnd(6), "ops", r.ops.join(" "), " cpu", r.cpu.join(" "));
for (const [, c, db] of group) { await c.close(); await admin.unsafe(`drop database ${db}`); }
await admin.end();
