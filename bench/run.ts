/**
 * `npm run bench [-- --quick] [-- --check] [-- --json] [-- --only <regex>] [-- --skip cpu,store,http,scale]`:
 * every contender on the machine's Postgres (`DATABASE_URL`), Redis (`REDIS_URL`), MariaDB
 * (`MYSQL_URL`) and SQLite files (better-sqlite3 and libSQL, in a temp folder), then the CPU
 * line, the HTTP line and the scale lines. Postgres contenders run twice, on databases with
 * `synchronous_commit` off and on. Creates one database (or SQLite file) per contender and one
 * Redis prefix per run, and removes them all at the end, on Ctrl-C too. `--check` then prints
 * issue 14's and issue 16's bars with PASS/MISS and exits non-zero when one misses.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { checkBars, checkTable, dialectBars, guaranteeVerdicts } from "./check.js";
import { FACTORIES } from "./contenders/index.js";
import { measureCpu } from "./cpu/line.js";
import { cpuTable } from "./cpu/table.js";
import { type HttpRow, httpTable, measureHttp } from "./http/index.js";
import { createMysqlDatabase, dropMysqlDatabases, type MysqlDurability, mysqlDurability } from "./mysql-resources.js";
import { createAdminDatabase, deletePrefix, dropDatabases } from "./resources.js";
import { measureScale, scaleTables } from "./scale/index.js";
import { BETTER_SQLITE3_PRAGMAS, LIBSQL_FILE_PRAGMAS, libsqlConfig, SqliteFiles } from "./sqlite-files.js";
import { lineOf, type Row, storeTable } from "./store-table.js";
import { SYNC_COMMITS, type SyncCommit, setSyncCommit } from "./sync-commit.js";
import { type Backend, type Contender, CYCLES, type Measurement, makePayload, medianOf, runCycle } from "./workload.js";

const argv = process.argv.slice(2);
const args = new Set(argv);
const quick = args.has("--quick");
const asJson = args.has("--json");
const check = args.has("--check");
const flagValue = (flag: string) => {
  const at = argv.indexOf(flag);
  return at === -1 ? undefined : argv[at + 1];
};
// `--only <regex>`: the store contenders whose names match, with their lines' floors (ratios need
// them); a line none of whose other contenders match is not run.
const only = flagValue("--only") === undefined ? null : new RegExp(flagValue("--only") ?? "", "i");
const skip = new Set((flagValue("--skip") ?? "").split(",").filter(Boolean));
const databaseUrl = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const mysqlUrl = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";

const config = quick
  ? { sessions: 1_000, repetitions: 1, warmupMs: 40, durationMs: 120 }
  : { sessions: 10_000, repetitions: 5, warmupMs: 300, durationMs: 1_000 };
const CONCURRENCIES = [1, 64] as const;
const POOL_SIZE = 16;

const log = (message: string) => {
  if (!asJson) process.stderr.write(`${message}\n`);
};

const runId = randomUUID().replaceAll("-", "").slice(0, 12);
const redisPrefix = `tessera_bench:${runId}:`;
const databases: string[] = [];
const mysqlDatabases: string[] = [];
const sqliteFiles = new SqliteFiles(runId);
const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
redis.on("error", () => {});

let cleaned: Promise<void> | null = null;
/** Drops the run's databases and Redis keys; safe to call twice (Ctrl-C during the finally). */
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    const keys = await deletePrefix(redis, redisPrefix).catch(() => -1);
    redis.disconnect();
    await dropDatabases(databaseUrl, databases);
    await dropMysqlDatabases(mysqlUrl, mysqlDatabases);
    const files = sqliteFiles.remove();
    log(
      `cleanup: dropped ${databases.length} Postgres and ${mysqlDatabases.length} MySQL databases, ` +
        `removed ${files} SQLite files (${sqliteFiles.folder}), deleted ${keys} Redis keys under ${redisPrefix}`,
    );
  })();
  return cleaned;
}

// `on`, not `once`: tsx's parent relays a second SIGINT when the first is slow to be seen, and
// with no listener left that one would end the process in the middle of the cleanup.
let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) return;
  interrupted = true;
  log("interrupted: cleaning up");
  void cleanup().finally(() => process.exit(130));
});

/** One group of contenders that take turns and share a floor: a backend, and for Postgres a sync setting. */
interface Line {
  backend: Backend;
  syncCommit?: SyncCommit;
}

const LINES: Line[] = [...new Set(FACTORIES.map((f) => f.backend))].flatMap((backend): Line[] =>
  backend === "postgres" ? SYNC_COMMITS.map((syncCommit) => ({ backend, syncCommit })) : [{ backend }],
);

/**
 * A fresh database for one contender: a MySQL database on the MySQL line, a new file on the
 * SQLite lines, else a Postgres database with its line's `synchronous_commit` when it has one.
 */
async function contenderDatabase(line: Line): Promise<string> {
  if (line.backend === "mysql") {
    return createMysqlDatabase(mysqlUrl, `tessera_bench_${runId}_${mysqlDatabases.length}`, mysqlDatabases);
  }
  if (line.backend === "better-sqlite3" || line.backend === "libsql") return sqliteFiles.next();
  const name = `tessera_bench_${runId}_${databases.length}`;
  const url = await createAdminDatabase(databaseUrl, name, databases);
  if (line.syncCommit !== undefined) await setSyncCommit(databaseUrl, url, name, line.syncCommit);
  return url;
}

/**
 * One line of the store-level table. Its contenders are open together and take turns, one
 * repetition each, so a slow spell of the shared machine hits all of them rather than one.
 */
async function measureLine(line: Line): Promise<Row[]> {
  const rows: Row[] = [];
  const label = lineOf(line);
  const picked = FACTORIES.filter((f) => f.backend === line.backend && (only === null || f.floor || only.test(f.name)));
  if (!picked.some((f) => !f.floor)) return rows;
  if (line.backend === "mysql" && !(await mysqlReachable())) return rows;
  const group: Contender[] = [];
  try {
    for (const { create } of picked) {
      const index = databases.length + mysqlDatabases.length;
      const contender = await create({
        databaseUrl: await contenderDatabase(line),
        redisUrl,
        redisPrefix: `${redisPrefix}${index}:`,
        poolSize: POOL_SIZE,
      });
      group.push(contender);
      log(`${contender.name} (${label}): seeding ${config.sessions} sessions`);
      await contender.seed(config.sessions);
    }
    const runs = new Map<Contender, Record<string, Measurement[]>>(group.map((c) => [c, {}]));
    for (const cycle of CYCLES) {
      for (let rep = 0; rep < config.repetitions; rep++) {
        // Rotate who goes first, so no contender always runs right after the same neighbour.
        const order = group.map((_, k) => group[(k + rep) % group.length] as Contender);
        for (const contender of order) {
          for (const concurrency of CONCURRENCIES) {
            const measured = await runCycle(contender, cycle, { ...config, concurrency }, 1000 * rep + concurrency);
            const key = `${cycle}:${concurrency}`;
            const byKey = runs.get(contender) as Record<string, Measurement[]>;
            byKey[key] = [...(byKey[key] ?? []), measured];
          }
        }
      }
      log(`  ${label} ${cycle}: done`);
    }
    for (const contender of group) {
      const byKey = runs.get(contender) as Record<string, Measurement[]>;
      const results = {} as Row["results"];
      for (const cycle of CYCLES) {
        results[cycle] = { c1: medianOf(byKey[`${cycle}:1`] ?? []), c64: medianOf(byKey[`${cycle}:64`] ?? []) };
      }
      rows.push({ name: contender.name, ...line, floor: contender.floor === true, results });
      log(`${contender.name} (${label}): modify c1 ${Math.round(results.modify.c1.opsPerSec)} ops/s`);
    }
  } finally {
    for (const contender of group) await contender.close().catch(() => {});
  }
  return rows;
}

/** What the MySQL line's commits waited for (read from the server once, printed with the table). */
let mysqlServer: MysqlDurability | null = null;

/**
 * Whether the MySQL line can run: the server answers. Without one it is skipped with a notice
 * (a laptop without MariaDB), except under `CI=true`, where that is a failure.
 */
async function mysqlReachable(): Promise<boolean> {
  mysqlServer = await mysqlDurability(mysqlUrl);
  if (mysqlServer !== null) return true;
  if (process.env.CI === "true") throw new Error(`MYSQL_URL ${new URL(mysqlUrl).host}: no MySQL server answers`);
  log(`mysql line skipped: no MySQL server answers at ${new URL(mysqlUrl).host} (set MYSQL_URL)`);
  return false;
}

/** Under the store table: the settings the SQLite and MySQL lines ran with, when they ran. */
function lineSettings(rows: readonly Row[]): string {
  const notes: string[] = [];
  const ran = (backend: string) => rows.some((r) => r.backend === backend);
  if (ran("better-sqlite3")) notes.push(`better-sqlite3: ${BETTER_SQLITE3_PRAGMAS.join(", ")}; one connection.`);
  if (ran("libsql")) {
    const { timeout, concurrency } = libsqlConfig("", POOL_SIZE);
    notes.push(
      `libsql: local file, ${LIBSQL_FILE_PRAGMAS.join(", ")}; each pooled connection otherwise at the client's defaults ` +
        `(\`synchronous = FULL\`: an fsync per commit); busy timeout ${timeout} ms; up to ${concurrency} connections.`,
    );
  }
  if (ran("mysql") && mysqlServer !== null) {
    notes.push(
      `mysql: MariaDB ${mysqlServer.version}, \`innodb_flush_log_at_trx_commit = ${mysqlServer.innodbFlushLogAtTrxCommit}\`` +
        `, binary log ${mysqlServer.logBin ? `on (sync_binlog ${mysqlServer.syncBinlog})` : "off"} (the shared server's global settings, read, not changed), mysql2 pool of ${POOL_SIZE}.`,
    );
  }
  return notes.length === 0 ? "" : `\n\n${notes.map((n) => `- ${n}`).join("\n")}`;
}

/** The store-level table: every line in turn. */
async function storeLevel(): Promise<Row[]> {
  const rows: Row[] = [];
  for (const line of LINES) rows.push(...(await measureLine(line)));
  return rows;
}

async function main(): Promise<void> {
  const started = performance.now();
  const result: Record<string, unknown> = {};
  const sections: string[] = [];
  let rows: Row[] = [];
  let http: HttpRow[] | undefined;
  try {
    if (!skip.has("store")) {
      rows = await storeLevel();
      result.store = rows;
      sections.push(`## Store level\n\n${storeTable(rows)}${lineSettings(rows)}`);
    }
    if (!skip.has("cpu")) {
      log("CPU line");
      const cpu = await measureCpu({
        sessions: 1_000,
        ms: quick ? 300 : 3_000,
        payloadJson: JSON.stringify(makePayload(1)),
      });
      result.cpu = cpu;
      sections.push(`## CPU per cycle\n\n${cpuTable(cpu)}`);
    }
    if (!skip.has("http")) {
      log("HTTP line");
      http = await measureHttp({ quick, redisUrl, redisPrefix: `${redisPrefix}http:`, log });
      result.http = http;
      sections.push(`## End to end over HTTP (90 % read / 10 % modify)\n\n${httpTable(http)}`);
    }
    if (!skip.has("scale")) {
      log("scale lines");
      const scale = await measureScale({ quick, databaseUrl, redisUrl, redisPrefix: `${redisPrefix}scale:`, log });
      result.scale = scale;
      sections.push(`## Scale\n\n${scaleTables(scale)}`);
    }
  } finally {
    await cleanup();
  }
  if (check) {
    const verdicts = checkBars(rows, http);
    result.check = verdicts;
    sections.push(`## Issue 14 bars (--check)\n\n${checkTable(verdicts)}`);
    const reference = guaranteeVerdicts(rows);
    result.guarantees = reference;
    sections.push(
      `### The same bars for the guarantees alone (a reference, not counted)\n\n${checkTable(reference, "bar, guarantees alone in Tessera's place")}`,
    );
    const dialects = dialectBars(rows);
    result.dialectCheck = dialects;
    sections.push(`## Issue 16 bars (--check)\n\n${checkTable(dialects, "bar (issue 16)")}`);
    if ([...verdicts, ...dialects].some((v) => v.pass === false)) process.exitCode = 1;
  }
  const meta = {
    quick,
    check,
    sessions: config.sessions,
    repetitions: config.repetitions,
    durationMs: config.durationMs,
    warmupMs: config.warmupMs,
    poolSize: POOL_SIZE,
    ...(mysqlServer === null ? {} : { mysql: mysqlServer }),
    node: process.version,
    elapsedSeconds: Math.round((performance.now() - started) / 1000),
  };
  if (asJson) process.stdout.write(`${JSON.stringify({ meta, ...result }, null, 2)}\n`);
  else process.stdout.write(`${sections.join("\n\n")}\n\n${JSON.stringify(meta)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
