/**
 * The workload every contender runs: N pre-created sessions with a ~1 KB payload, then timed
 * cycles (modify, read, mix) at a fixed concurrency, with a warm-up, percentiles and medians.
 */

/** The session payload: ~1 KB once JSON-encoded. */
export interface Payload {
  userId: string;
  cart: { sku: string; qty: number; price: number }[];
  lastSeen: Date;
  theme: "light" | "dark";
  beta: boolean;
  newsletter: boolean;
  admin: boolean;
}

/** A deterministic payload for session `i`. */
export function makePayload(i: number): Payload {
  const cart = Array.from({ length: 10 }, (_, k) => ({
    sku: `SKU-${String(i).padStart(6, "0")}-${String(k).padStart(2, "0")}-ABCDEFGHIJKLMNOP`,
    qty: 1 + ((i + k) % 5),
    price: Math.round((((i * 31 + k * 17) % 10_000) + 99) * 100) / 10_000,
  }));
  return {
    userId: `user_${String(i).padStart(8, "0")}_${"x".repeat(24)}`,
    cart,
    lastSeen: new Date(1_700_000_000_000 + i * 1000),
    theme: i % 2 === 0 ? "light" : "dark",
    beta: i % 3 === 0,
    newsletter: i % 5 === 0,
    admin: false,
  };
}

/** Session lifetime every contender stores with (seconds). */
export const TTL_SECONDS = 14 * 24 * 3600;

/**
 * What a line runs on. SQLite has two lines, one per driver (each with its own raw floor):
 * better-sqlite3 and libSQL's local-file client.
 */
export type Backend = "redis" | "postgres" | "cookie" | "better-sqlite3" | "libsql" | "mysql";

/** One contender at the store API level, after `seed`. */
export interface Contender {
  /** Table label. */
  name: string;
  backend: Backend;
  /** The raw floor of its backend (ratios are taken against it). */
  floor?: boolean;
  /** Creates sessions `0..n-1` from `makePayload(i)`. */
  seed(n: number): Promise<void>;
  /** Load session `i`, read a key, change nothing. */
  read(i: number): Promise<void>;
  /** Load session `i`, change one key (`lastSeen`), save. */
  modify(i: number): Promise<void>;
  /** Closes its clients (the run drops the database and Redis prefix afterwards). */
  close(): Promise<void>;
}

/** What each contender gets from the run: shared servers, and names to create its state under. */
export interface BenchEnv {
  /**
   * The contender's own fresh database: a Postgres URL (postgres, redis and cookie lines), a
   * MySQL URL (mysql line), or a `file:` URL of a new file in the run's temp folder (SQLite lines).
   */
  databaseUrl: string;
  redisUrl: string;
  /** Redis key prefix unique to this run and contender (the run deletes `${prefix}*`). */
  redisPrefix: string;
  /** Connections per pool (Postgres, MySQL, libSQL), identical for every contender. */
  poolSize: number;
}

export type ContenderFactory = (env: BenchEnv) => Promise<Contender>;

export type Cycle = "modify" | "read" | "mix";
export const CYCLES: readonly Cycle[] = ["modify", "read", "mix"];

export interface RunOptions {
  sessions: number;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface Measurement {
  ops: number;
  opsPerSec: number;
  /** Microseconds; only measured at concurrency 1. */
  p50Us: number | null;
  p99Us: number | null;
  /**
   * This process's CPU time (user + system, `process.cpuUsage()`) over the measured window ÷
   * its operations, in µs: the client's cost of a cycle, which bounds throughput at c64.
   */
  cpuUsPerOp: number;
}

let nextTurn = 0;
/**
 * A turn of the event loop when 10 ms passed since the last (else undefined: nothing to await,
 * not even a microtask). An in-process driver (better-sqlite3, libSQL's
 * local file, the cookie line) answers without I/O, so a cycle of its operations is all
 * microtasks and the loop would not turn for a whole line: Ctrl-C would not be handled (tsx's
 * parent process then kills the run after 60 ms, before it removes its databases). One
 * `setImmediate` per 10 ms costs well under 1 % of a cycle, and the same for every contender.
 */
export function loopTurn(): Promise<void> | undefined {
  const now = performance.now();
  if (now < nextTurn) return undefined;
  nextTurn = now + 10;
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** Seeds `n` sessions with `concurrency` in flight. */
export async function seedParallel(n: number, concurrency: number, create: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      await create(next++);
      const turn = loopTurn();
      if (turn !== undefined) await turn;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

/** A small fast PRNG (mulberry32), so every contender sees the same sequence of sessions and operations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function opFor(cycle: Cycle, contender: Contender, random: () => number): (i: number) => Promise<void> {
  if (cycle === "modify") return (i) => contender.modify(i);
  if (cycle === "read") return (i) => contender.read(i);
  return (i) => (random() < 0.1 ? contender.modify(i) : contender.read(i));
}

/** Runs one cycle: a warm-up, then `durationMs` of operations by `concurrency` workers. */
export async function runCycle(contender: Contender, cycle: Cycle, options: RunOptions, seed: number): Promise<Measurement> {
  const random = rng(seed);
  const op = opFor(cycle, contender, random);
  const pick = () => Math.floor(random() * options.sessions);
  const timed = options.concurrency === 1;
  const run = async (ms: number, samples: number[] | null) => {
    const until = performance.now() + ms;
    let ops = 0;
    const worker = async () => {
      while (performance.now() < until) {
        const turn = loopTurn();
        if (turn !== undefined) await turn;
        const i = pick();
        if (samples) {
          const start = performance.now();
          await op(i);
          samples.push(performance.now() - start);
        } else await op(i);
        ops++;
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    return { ops, elapsed: performance.now() - start };
  };
  await run(options.warmupMs, null);
  const samples: number[] | null = timed ? [] : null;
  const cpuBefore = process.cpuUsage();
  const { ops, elapsed } = await run(options.durationMs, samples);
  const cpu = process.cpuUsage(cpuBefore);
  return {
    ops,
    opsPerSec: (ops * 1000) / elapsed,
    p50Us: samples ? percentile(samples, 0.5) * 1000 : null,
    p99Us: samples ? percentile(samples, 0.99) * 1000 : null,
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
  };
}

/** The `q` quantile (nearest rank) of `values`. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return Number.NaN;
  const sorted = [...finite].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median of each field over repetitions. */
export function medianOf(runs: Measurement[]): Measurement {
  const pick = (f: (m: Measurement) => number | null) => {
    const values = runs.map(f).filter((v): v is number => v !== null);
    return values.length === 0 ? null : median(values);
  };
  return {
    ops: median(runs.map((m) => m.ops)),
    opsPerSec: median(runs.map((m) => m.opsPerSec)),
    p50Us: pick((m) => m.p50Us),
    p99Us: pick((m) => m.p99Us),
    cpuUsPerOp: median(runs.map((m) => m.cpuUsPerOp)),
  };
}

/** JSON with Dates revived, as the JSON-based peers' stores hand them back (strings). */
export function touchPayload(payload: Record<string, unknown>): void {
  payload.lastSeen = new Date();
}
