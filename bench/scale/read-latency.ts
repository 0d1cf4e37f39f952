import type { BenchManager } from "../contenders/tessera-common.js";
import { percentile, rng } from "../workload.js";

/** One side of the comparison: a manager over a store of some size, and the cookies of its sampled sessions. */
export interface Target {
  sessions: BenchManager;
  cookies: readonly string[];
}

export interface Rounds {
  /** Interleaved small/large rounds. */
  rounds: number;
  /** Untimed reads before each round, so the other side's round cannot leave this one cold. */
  warmupMs: number;
  /** Timed reads per round. */
  roundMs: number;
}

export interface Latency {
  p50Us: number;
  p99Us: number;
}

/** The read cycle of `tesseraOps.read`: load from the Cookie header, get a key, commit (writes nothing). */
async function read(sessions: BenchManager, cookie: string): Promise<void> {
  const session = await sessions.load(cookie);
  if (session.isNew || session.get("theme") === undefined) throw new Error("sampled session not found");
  await session.commit();
}

async function readFor(target: Target, ms: number, random: () => number, samples: number[] | null): Promise<void> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const cookie = target.cookies[Math.floor(random() * target.cookies.length)]!;
    const start = performance.now();
    await read(target.sessions, cookie);
    samples?.push(performance.now() - start);
  }
}

/**
 * Read-cycle latency at concurrency 1 on random sampled sessions of both sides. Every sampled
 * session is read once first (the working set is the sample, at either size). Then rounds
 * alternate small and large, so load from elsewhere on the machine falls on both sides alike;
 * the percentiles are over all timed reads of a side.
 */
export async function compareReads(small: Target, large: Target, options: Rounds): Promise<{ small: Latency; large: Latency }> {
  for (const target of [small, large]) for (const cookie of target.cookies) await read(target.sessions, cookie);
  const random = rng(42);
  const timed = { small: [] as number[], large: [] as number[] };
  for (let round = 0; round < options.rounds; round++) {
    for (const side of ["small", "large"] as const) {
      const target = side === "small" ? small : large;
      await readFor(target, options.warmupMs, random, null);
      await readFor(target, options.roundMs, random, timed[side]);
    }
  }
  const latency = (ms: number[]) => ({ p50Us: percentile(ms, 0.5) * 1000, p99Us: percentile(ms, 0.99) * 1000 });
  return { small: latency(timed.small), large: latency(timed.large) };
}
