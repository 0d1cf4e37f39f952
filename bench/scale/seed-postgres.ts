import type postgres from "postgres";
import { TTL_SECONDS } from "../workload.js";
import { PAYLOAD_VARIANTS, storedData } from "./stored-data.js";

export interface PostgresSeed {
  /** Rows written, live and expired together. */
  rows: number;
  /** How many of them are live; the others expired at some moment of the last 30 days. */
  live: number;
  /** Ids of the timed sessions, spread evenly over the heap (all rows must be live then). */
  sampleIds?: readonly string[];
  /** Makes the filler ids of this seed unique. */
  tag: string;
  log: (line: string) => void;
}

// Rows per INSERT: progress lines, and no single statement of a minute.
const CHUNK = 100_000;

/**
 * Writes rows into the migrated `sessions` table server-side (`INSERT … SELECT … FROM
 * generate_series`), with the indexes in place so the primary key grows by random inserts as it
 * does in production. Then VACUUM ANALYZE: this server runs without autovacuum, and a fresh table
 * without statistics or a visibility map would be measured at its worst rather than its usual.
 */
export async function seedPostgres(sql: postgres.Sql, seed: PostgresSeed): Promise<void> {
  const samples = seed.sampleIds ?? [];
  if (samples.length > 0 && seed.live !== seed.rows) throw new Error("sampled sessions need an all-live table");
  const step = samples.length === 0 ? 1 : Math.floor(seed.rows / samples.length);
  const payloads = Array.from({ length: PAYLOAD_VARIANTS }, (_, k) => JSON.stringify(storedData(k)));
  const started = performance.now();
  for (let from = 0; from < seed.rows; from += CHUNK) {
    const to = Math.min(seed.rows, from + CHUNK) - 1;
    // Live rows are spread evenly among the expired ones, and the expired ones' expiry follows no
    // heap order (a stride through 30 days): once rows are updated and space reused, a real table's
    // expiry order is unrelated to where rows sit, and a purge cannot count on it.
    await sql.unsafe(
      `with p as (select (o - 1)::int as k, d from unnest($1::jsonb[]) with ordinality as u(d, o)),
       r as (
         select i, p.d,
           case when ((i + 1) * $2::bigint) / $3 <> (i * $2::bigint) / $3
             then now() + make_interval(secs => $4)
             else now() - make_interval(secs => 1 + (i * 7919) % 2592000) end as expires
         from generate_series($5::bigint, $6::bigint) as i join p on p.k = i % $7)
       insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
       select case when i % $8 = 0 and i / $8 < $9 then ($10::text[])[i / $8 + 1]
                else encode(sha256(convert_to('filler:' || $11 || ':' || i, 'UTF8')), 'hex') end,
         d, expires, expires - make_interval(secs => $4), expires - make_interval(secs => $4), 1, 1
       from r`,
      [payloads, seed.live, seed.rows, TTL_SECONDS, from, to, PAYLOAD_VARIANTS, step, samples.length, samples, seed.tag],
    );
    if (seed.rows > CHUNK) seed.log(`    ${(to + 1).toLocaleString("en-US")} rows`);
  }
  await sql`vacuum analyze sessions`;
  const seconds = (performance.now() - started) / 1000;
  seed.log(`    seeded ${seed.rows.toLocaleString("en-US")} rows in ${seconds.toFixed(1)} s (with VACUUM ANALYZE)`);
}
