/** What `measureScale` returns; `scaleTables` renders it. */

/** Read-cycle latency (load + get + commit, concurrency 1) with `small` and with `large` sessions stored. */
export interface LoadLine {
  backend: "postgres" | "redis";
  small: number;
  large: number;
  p50SmallUs: number;
  p50LargeUs: number;
  p99SmallUs: number;
  p99LargeUs: number;
}

export interface RedisMemory {
  /** Median `MEMORY USAGE key SAMPLES 0` over sampled session keys. */
  bytesPerSession: number;
  /** `OBJECT ENCODING` of those keys (distinct values joined by "/"). */
  encoding: string;
}

/** One `sessions.purgeExpired({ batchSize })` of `rows` expired rows beside live ones. */
export interface PurgeLine {
  /** Expired rows it deleted. */
  rows: number;
  batchSize: number;
  seconds: number;
  rowsPerSec: number;
  /** Longest DELETE but the final one: the longest gap between two progress reports (or before the first). */
  longestStatementMs: number;
  /**
   * The final statement, which finds fewer than `batchSize` expired rows and so must look through
   * the rest of the table. After a large purge that is a scan over every row just deleted (dead
   * until VACUUM); it locks and deletes nothing.
   */
  finalStatementMs: number;
  /** Live rows after the purge (it must equal the live rows seeded). */
  liveLeft: number;
}

export interface ScaleResult {
  load: LoadLine[];
  redisMemory: RedisMemory;
  purge: PurgeLine[];
}
