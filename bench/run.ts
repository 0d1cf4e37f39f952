/**
 * `npm run bench [-- --quick] [-- --json]`: every contender at the store API level on the
 * machine's Postgres (`DATABASE_URL`) and Redis (`REDIS_URL`). Creates one database per
 * contender and one Redis prefix per run, and removes both at the end.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import { create as connectPgSimple } from "./contenders/connect-pg-simple.js";
import { create as connectRedis } from "./contenders/connect-redis.js";
import { create as ironSession } from "./contenders/iron-session.js";
import { create as postgresFloor } from "./contenders/postgres-floor.js";
import { create as redisFloor } from "./contenders/redis-floor.js";
import { create as tesseraCookie } from "./contenders/tessera-cookie.js";
import { create as tesseraDrizzle } from "./contenders/tessera-drizzle.js";
import { create as tesseraDrizzleCache } from "./contenders/tessera-drizzle-cache.js";
import { create as tesseraRedis } from "./contenders/tessera-redis.js";
import {
  type Backend,
  type ContenderFactory,
  CYCLES,
  type Cycle,
  type Measurement,
  medianOf,
  type RunOptions,
  runCycle,
} from "./workload.js";

const args = new Set(process.argv.slice(2));
const quick = args.has("--quick");
const asJson = args.has("--json");
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

const config = quick
  ? { sessions: 1_000, repetitions: 1, warmupMs: 60, durationMs: 160 }
  : { sessions: 10_000, repetitions: 3, warmupMs: 300, durationMs: 1_500 };
const CONCURRENCIES = [1, 64] as const;
const POOL_SIZE = 16;

/** Floors first: ratios are taken against them. */
const FACTORIES: ContenderFactory[] = [
  redisFloor,
  tesseraRedis,
  connectRedis,
  postgresFloor,
  tesseraDrizzle,
  tesseraDrizzleCache,
  connectPgSimple,
  tesseraCookie,
  ironSession,
];

interface Row {
  name: string;
  backend: Backend;
  floor: boolean;
  results: Record<Cycle, { c1: Measurement; c64: Measurement }>;
}

const log = (message: string) => {
  if (!asJson) process.stderr.write(`${message}\n`);
};

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

async function deletePrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}

async function main(): Promise<void> {
  const runId = randomUUID().replaceAll("-", "").slice(0, 12);
  const redisPrefix = `tessera_bench:${runId}:`;
  const databases: string[] = [];
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const rows: Row[] = [];
  const started = performance.now();
  try {
    for (const [index, factory] of FACTORIES.entries()) {
      const name = `tessera_bench_${runId}_${index}`;
      await admin(databaseUrl, `create database "${name}"`);
      databases.push(name);
      const url = new URL(databaseUrl);
      url.pathname = `/${name}`;
      const contender = await factory({
        databaseUrl: url.toString(),
        redisUrl,
        redisPrefix: `${redisPrefix}${index}:`,
        poolSize: POOL_SIZE,
      });
      try {
        log(`${contender.name}: seeding ${config.sessions} sessions`);
        await contender.seed(config.sessions);
        const results = {} as Row["results"];
        for (const cycle of CYCLES) {
          const byConcurrency: Measurement[][] = CONCURRENCIES.map(() => []);
          for (let rep = 0; rep < config.repetitions; rep++) {
            for (const [k, concurrency] of CONCURRENCIES.entries()) {
              const options: RunOptions = { ...config, concurrency };
              byConcurrency[k]!.push(await runCycle(contender, cycle, options, 1000 * rep + concurrency));
            }
          }
          results[cycle] = { c1: medianOf(byConcurrency[0]!), c64: medianOf(byConcurrency[1]!) };
          log(
            `  ${cycle}: c1 ${Math.round(results[cycle].c1.opsPerSec)} ops/s, c64 ${Math.round(results[cycle].c64.opsPerSec)} ops/s`,
          );
        }
        rows.push({ name: contender.name, backend: contender.backend, floor: contender.floor === true, results });
      } finally {
        await contender.close();
      }
    }
  } finally {
    const keys = await deletePrefix(redis, redisPrefix).catch(() => -1);
    redis.disconnect();
    for (const name of databases) await admin(databaseUrl, `drop database if exists "${name}" with (force)`).catch(() => {});
    log(`cleanup: dropped ${databases.length} databases, deleted ${keys} Redis keys under ${redisPrefix}`);
  }
  const meta = {
    quick,
    sessions: config.sessions,
    repetitions: config.repetitions,
    durationMs: config.durationMs,
    warmupMs: config.warmupMs,
    poolSize: POOL_SIZE,
    node: process.version,
    elapsedSeconds: Math.round((performance.now() - started) / 1000),
  };
  if (asJson) process.stdout.write(`${JSON.stringify({ meta, rows }, null, 2)}\n`);
  else process.stdout.write(`${table(rows)}\n\n${JSON.stringify(meta)}\n`);
}

function table(rows: Row[]): string {
  const floors = new Map<Backend, Row>();
  for (const row of rows) if (row.floor) floors.set(row.backend, row);
  const ops = (n: number) => Math.round(n).toLocaleString("en-US");
  const us = (n: number | null) => (n === null || !Number.isFinite(n) ? "—" : `${Math.round(n)}`);
  const ratio = (row: Row, cycle: Cycle) => {
    const floor = floors.get(row.backend);
    if (floor === undefined) return "—";
    return `${(floor.results[cycle].c1.opsPerSec / row.results[cycle].c1.opsPerSec).toFixed(2)}×`;
  };
  const header = ["contender", "backend"];
  const align = ["---", "---"];
  for (const cycle of CYCLES) {
    header.push(`${cycle} c1 ops/s`, `${cycle} c1 p50/p99 µs`, `${cycle} c1 vs floor`, `${cycle} c64 ops/s`);
    align.push("---:", "---:", "---:", "---:");
  }
  const lines = [`| ${header.join(" | ")} |`, `|${align.join("|")}|`];
  for (const row of rows) {
    const cells = [row.floor ? `**${row.name}** (floor)` : row.name, row.backend];
    for (const cycle of CYCLES) {
      const { c1, c64 } = row.results[cycle];
      cells.push(ops(c1.opsPerSec), `${us(c1.p50Us)} / ${us(c1.p99Us)}`, ratio(row, cycle), ops(c64.opsPerSec));
    }
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
