import postgres from "postgres";
import { makePayload } from "./workload.js";
const admin = postgres("postgres://postgres@127.0.0.1:5432/test", { onnotice: () => {} });
await admin.unsafe("drop database if exists tmp_pgupd"); await admin.unsafe("create database tmp_pgupd"); await admin.unsafe("alter database tmp_pgupd set synchronous_commit = off");
const sql = postgres("postgres://postgres@127.0.0.1:5432/tmp_pgupd", { max: 16, onnotice: () => {}, prepare: true });
await sql`create table s (id text primary key, data jsonb not null, expires_at timestamptz not null, updated_at timestamptz not null, rev int not null default 1, successor_id text, schema_version int not null default 1)`;
const N = 2000;
for (let i = 0; i < N; i++) {
  const d: Record<string, unknown> = {}; for (const [k, v] of Object.entries(makePayload(i))) d[k] = { json: JSON.parse(JSON.stringify(v)) };
  await sql`insert into s (id, data, expires_at, updated_at) values (${String(i)}, ${sql.json(d as never)}, now() + interval '1 day', now())`;
}
const set = JSON.stringify({ lastSeen: { json: new Date().toISOString(), meta: { values: ["Date"], v: 1 } } });
const variants: Record<string, (id: string) => Promise<unknown>> = {
  minimal: (id) => sql`update s set data = data || ${set}::jsonb, expires_at = now() + interval '1 day' where id = ${id} and expires_at > now() returning 1`,
  tessera: (id) => sql`update s set data = ((data - ${"{}"}::text[]) || ${set}::jsonb), expires_at = now() + interval '1 day', updated_at = now(), schema_version = 1, rev = rev + 1
    where id = ${id} and expires_at > now() and successor_id is null
    and (octet_length(data::text) + octet_length(${set}::jsonb::text) <= greatest(${4096}::bigint, 2) or octet_length(((data - ${"{}"}::text[]) || ${set}::jsonb)::text) <= greatest(${4096}::bigint, 2) or octet_length(((data - ${"{}"}::text[]) || ${set}::jsonb)::text) <= octet_length(data::text))
    and (${null}::timestamptz is null or updated_at <= ${null}::timestamptz) returning rev`,
  noFits: (id) => sql`update s set data = ((data - ${"{}"}::text[]) || ${set}::jsonb), expires_at = now() + interval '1 day', updated_at = now(), schema_version = 1, rev = rev + 1
    where id = ${id} and expires_at > now() and successor_id is null
    and (${null}::timestamptz is null or updated_at <= ${null}::timestamptz) returning rev`,
};
for (let round = 0; round < 3; round++) for (const [n, f] of Object.entries(variants)) {
  let next = 0; const until = performance.now() + 1500; let ops = 0;
  const c0 = process.cpuUsage();
  await Promise.all(Array.from({ length: 64 }, async () => { while (performance.now() < until) { await f(String(next++ % N)); ops++; } }));
  const c = process.cpuUsage(c0);
  console.log(n.padEnd(8), Math.round(ops / 1.5), "ops/s", "client µs", ((c.user + c.system) / ops).toFixed(0));
}
await sql.end(); await admin.unsafe("drop database tmp_pgupd"); await admin.end();
