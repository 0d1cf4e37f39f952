/**
 * `--check`: the bars of issue 14 as ratios of this run's medians, at c1 and at c64, each
 * printed with its measured ratio and PASS or MISS. A bar whose lines the run did not measure
 * (`--skip`, `--only`) is printed as not measured and does not count.
 */
import { NAME as CONNECT_PG_SIMPLE } from "./contenders/connect-pg-simple.js";
import { NAME as CONNECT_REDIS } from "./contenders/connect-redis.js";
import { NAME as IRON_SESSION } from "./contenders/iron-session.js";
import { NAME as POSTGRES_FLOOR } from "./contenders/postgres-floor.js";
import { NAME as POSTGRES_GUARANTEES } from "./contenders/postgres-guarantee-floor.js";
import { NAME as REDIS_FLOOR } from "./contenders/redis-floor.js";
import { NAME as REDIS_GUARANTEES } from "./contenders/redis-guarantee-floor.js";
import { NAME as TESSERA_COOKIE } from "./contenders/tessera-cookie.js";
import { NAME as TESSERA_DRIZZLE } from "./contenders/tessera-drizzle.js";
import { NAME as TESSERA_REDIS } from "./contenders/tessera-redis.js";
import { APPS } from "./http/apps.js";
import type { HttpRow } from "./http/table.js";
import { lineOf, type Row } from "./store-table.js";
import type { Cycle } from "./workload.js";

export interface Verdict {
  bar: string;
  /** Subject ÷ reference, or null when the run did not measure both. */
  ratio: number | null;
  /** The two figures the ratio is taken from. */
  detail: string;
  pass: boolean | null;
}

/** A bar: `subject`'s figure ÷ `reference`'s, on one line and cycle, against `limit`. */
interface Bar {
  line: string;
  cycle: Cycle;
  /** ops/s (higher is better) or client CPU µs per cycle (lower is better). */
  metric: "ops/s" | "client CPU µs";
  subject: { name: string; short: string };
  reference: { name: string; short: string };
  bound: "≥" | "≤";
  limit: number;
}

const tesseraRedis = { name: TESSERA_REDIS, short: "Tessera" };
const connectRedis = { name: CONNECT_REDIS, short: "connect-redis" };
const tesseraDrizzle = { name: TESSERA_DRIZZLE, short: "Tessera drizzleStore" };
const connectPgSimple = { name: CONNECT_PG_SIMPLE, short: "connect-pg-simple" };
const syncOff = lineOf({ backend: "postgres", syncCommit: "off" });

/** Issue 14's Goal. The peers' read is read + touch, as express-session drives them. */
const BARS: Bar[] = [
  { line: "redis", cycle: "modify", metric: "ops/s", subject: tesseraRedis, reference: connectRedis, bound: "≥", limit: 1.0 },
  { line: "redis", cycle: "read", metric: "ops/s", subject: tesseraRedis, reference: connectRedis, bound: "≥", limit: 1.3 },
  { line: "redis", cycle: "mix", metric: "ops/s", subject: tesseraRedis, reference: connectRedis, bound: "≥", limit: 1.5 },
  {
    line: "redis",
    cycle: "modify",
    metric: "client CPU µs",
    subject: tesseraRedis,
    reference: { name: REDIS_FLOOR, short: "raw ioredis" },
    bound: "≤",
    limit: 1.5,
  },
  {
    line: syncOff,
    cycle: "modify",
    metric: "ops/s",
    subject: tesseraDrizzle,
    reference: { name: POSTGRES_FLOOR, short: "raw postgres.js" },
    bound: "≥",
    limit: 0.85,
  },
  {
    line: syncOff,
    cycle: "modify",
    metric: "ops/s",
    subject: tesseraDrizzle,
    reference: connectPgSimple,
    bound: "≥",
    limit: 1.2,
  },
  { line: syncOff, cycle: "read", metric: "ops/s", subject: tesseraDrizzle, reference: connectPgSimple, bound: "≥", limit: 1.3 },
  ...(["modify", "read", "mix"] as const).map(
    (cycle): Bar => ({
      line: "cookie",
      cycle,
      metric: "ops/s",
      subject: { name: TESSERA_COOKIE, short: "Tessera cookieStore" },
      reference: { name: IRON_SESSION, short: "iron-session" },
      bound: "≥",
      limit: 1.3,
    }),
  ),
];

const CONCURRENCIES = ["c1", "c64"] as const;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

function verdict(
  bar: string,
  subject: number | undefined,
  reference: number | undefined,
  unit: string,
  bound: "≥" | "≤",
  limit: number,
): Verdict {
  if (subject === undefined || reference === undefined) return { bar, ratio: null, detail: "not measured", pass: null };
  const ratio = subject / reference;
  const pass = bound === "≥" ? ratio >= limit : ratio <= limit;
  return { bar, ratio, detail: `${fmt(subject)} / ${fmt(reference)} ${unit}`, pass };
}

/** Every bar of issue 14 against this run's store rows and, when the HTTP line ran, its rows. */
export function checkBars(rows: readonly Row[], http: readonly HttpRow[] | undefined): Verdict[] {
  const verdicts = BARS.flatMap((bar) => barVerdicts(rows, bar));
  const app = (kind: string) => {
    const name = APPS.find((a) => a.kind === kind)?.name;
    return http?.find((row) => row.name === name)?.c64.opsPerSec;
  };
  verdicts.push(
    verdict("HTTP Express, mix c64: Tessera on Redis ≥ 0.70× no-session app", app("tessera"), app("bare"), "ops/s", "≥", 0.7),
  );
  return verdicts;
}

/**
 * The Redis and Postgres bars again with the guarantees alone (`*-guarantee-floor.ts`: the
 * hashed token, per-key and update-only saves written straight on the driver, no library) in
 * Tessera's place. Not bars: they show how much of each bar any library keeping those
 * guarantees can reach on this machine, and so how much of a miss is Tessera's own cost.
 */
export function guaranteeVerdicts(rows: readonly Row[]): Verdict[] {
  const alone = new Map([
    [TESSERA_REDIS, { name: REDIS_GUARANTEES, short: "guarantees alone" }],
    [TESSERA_DRIZZLE, { name: POSTGRES_GUARANTEES, short: "guarantees alone" }],
  ]);
  return BARS.flatMap((bar) => {
    const subject = alone.get(bar.subject.name);
    return subject === undefined ? [] : barVerdicts(rows, { ...bar, subject });
  });
}

function barVerdicts(rows: readonly Row[], bar: Bar): Verdict[] {
  const find = (name: string) => rows.find((row) => row.name === name && lineOf(row) === bar.line);
  return CONCURRENCIES.map((c) => {
    const value = (name: string) => {
      const m = find(name)?.results[bar.cycle][c];
      return m === undefined ? undefined : bar.metric === "ops/s" ? m.opsPerSec : m.cpuUsPerOp;
    };
    const text = `${bar.line}, ${bar.cycle} ${c}${bar.metric === "ops/s" ? "" : ` ${bar.metric}`}: ${bar.subject.short} ${bar.bound} ${bar.limit.toFixed(2)}× ${bar.reference.short}`;
    const unit = bar.metric === "ops/s" ? "ops/s" : "µs";
    return verdict(text, value(bar.subject.name), value(bar.reference.name), unit, bar.bound, bar.limit);
  });
}

/** The verdicts as a Markdown table; Postgres bars are on the sync-off line only. */
export function checkTable(verdicts: readonly Verdict[], heading = "bar (issue 14)"): string {
  const word = (pass: boolean | null) => (pass === null ? "not measured" : pass ? "PASS" : "**MISS**");
  const lines = [`| ${heading} | measured | verdict |`, "|---|---:|---|"];
  for (const v of verdicts) {
    const measured = v.ratio === null ? "—" : `${v.ratio.toFixed(2)}× (${v.detail})`;
    lines.push(`| ${v.bar} | ${measured} | ${word(v.pass)} |`);
  }
  const missed = verdicts.filter((v) => v.pass === false).length;
  const unmeasured = verdicts.filter((v) => v.pass === null).length;
  lines.push("", `${verdicts.length - missed - unmeasured} passed, ${missed} missed, ${unmeasured} not measured.`);
  return lines.join("\n");
}
