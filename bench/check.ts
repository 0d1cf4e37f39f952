/**
 * `--check`: the bars of issue 14, and issue 16's for the SQLite and MySQL lines, as ratios of
 * this run's medians, at c1 and at c64, each printed with its measured ratio and PASS or MISS. A bar whose lines the run did not measure
 * (`--skip`, `--only`) is printed as not measured and does not count.
 */
import { NAME as BETTER_SQLITE3_FLOOR } from "./contenders/better-sqlite3-floor.js";
import { NAME as CONNECT_PG_SIMPLE } from "./contenders/connect-pg-simple.js";
import { NAME as CONNECT_REDIS } from "./contenders/connect-redis.js";
import { NAME as IRON_SESSION } from "./contenders/iron-session.js";
import { NAME as LIBSQL_FLOOR } from "./contenders/libsql-floor.js";
import { NAME as MYSQL_FLOOR } from "./contenders/mysql-floor.js";
import { NAME as POSTGRES_FLOOR } from "./contenders/postgres-floor.js";
import { NAME as POSTGRES_GUARANTEES } from "./contenders/postgres-guarantee-floor.js";
import { NAME as REDIS_FLOOR } from "./contenders/redis-floor.js";
import { NAME as REDIS_GUARANTEES } from "./contenders/redis-guarantee-floor.js";
import { NAME as TESSERA_BETTER_SQLITE3 } from "./contenders/tessera-better-sqlite3.js";
import { NAME as TESSERA_COOKIE } from "./contenders/tessera-cookie.js";
import { NAME as TESSERA_DRIZZLE } from "./contenders/tessera-drizzle.js";
import { NAME as TESSERA_LIBSQL } from "./contenders/tessera-libsql.js";
import { NAME as TESSERA_MYSQL } from "./contenders/tessera-mysql.js";
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
  /** The reference's cycle when it is not `cycle` (read ÷ modify of one contender). */
  referenceCycle?: Cycle;
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
    const value = (name: string, cycle: Cycle) => {
      const m = find(name)?.results[cycle][c];
      return m === undefined ? undefined : bar.metric === "ops/s" ? m.opsPerSec : m.cpuUsPerOp;
    };
    const referenceCycle = bar.referenceCycle ?? bar.cycle;
    const text =
      referenceCycle === bar.cycle
        ? `${bar.line}, ${bar.cycle} ${c}${bar.metric === "ops/s" ? "" : ` ${bar.metric}`}: ${bar.subject.short} ${bar.bound} ${bar.limit.toFixed(2)}× ${bar.reference.short}`
        : `${bar.line}, ${c}: ${bar.subject.short} ${bar.cycle} ${bar.bound} ${bar.limit.toFixed(2)}× its ${referenceCycle}`;
    const unit = bar.metric === "ops/s" ? "ops/s" : "µs";
    const subject = value(bar.subject.name, bar.cycle);
    return verdict(text, subject, value(bar.reference.name, referenceCycle), unit, bar.bound, bar.limit);
  });
}

/**
 * Issue 16's bars, the Postgres ones (issue 6's, kept since) on each new dialect: on each line,
 * Tessera's modify ≥ 0.85× the raw driver's (prepared SELECT then UPDATE of the whole
 * document on the same driver), and Tessera's read ≥ 1.7× its own modify (a read is one round
 * trip, a modify two). Postgres' read ÷ modify is printed beside them: its modify ÷ floor is
 * issue 14's bar above.
 */
const DIALECT_PAIRS = [
  {
    line: lineOf({ backend: "better-sqlite3" }),
    tessera: TESSERA_BETTER_SQLITE3,
    floor: BETTER_SQLITE3_FLOOR,
    driver: "raw better-sqlite3",
  },
  { line: lineOf({ backend: "libsql" }), tessera: TESSERA_LIBSQL, floor: LIBSQL_FLOOR, driver: "raw @libsql/client" },
  { line: lineOf({ backend: "mysql" }), tessera: TESSERA_MYSQL, floor: MYSQL_FLOOR, driver: "raw mysql2" },
];

const DIALECT_BARS: Bar[] = [
  ...DIALECT_PAIRS.flatMap(({ line, tessera, floor, driver }): Bar[] => [
    {
      line,
      cycle: "modify",
      metric: "ops/s",
      subject: { name: tessera, short: "Tessera drizzleStore" },
      reference: { name: floor, short: driver },
      bound: "≥",
      limit: 0.85,
    },
    {
      line,
      cycle: "read",
      referenceCycle: "modify",
      metric: "ops/s",
      subject: { name: tessera, short: "Tessera drizzleStore" },
      reference: { name: tessera, short: "Tessera drizzleStore" },
      bound: "≥",
      limit: 1.7,
    },
  ]),
  {
    line: syncOff,
    cycle: "read",
    referenceCycle: "modify",
    metric: "ops/s",
    subject: tesseraDrizzle,
    reference: tesseraDrizzle,
    bound: "≥",
    limit: 1.7,
  },
];

/** Issue 16's bars against this run's store rows. */
export function dialectBars(rows: readonly Row[]): Verdict[] {
  return DIALECT_BARS.flatMap((bar) => barVerdicts(rows, bar));
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
