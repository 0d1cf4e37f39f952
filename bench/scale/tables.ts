import type { ScaleResult } from "./result.js";

// The bars of issue 6.
const LOAD_RATIO_BAR = 1.25;
const PURGE_ROWS_PER_SEC_BAR = 100_000;
const PURGE_STATEMENT_MS_BAR = 250;

const count = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : "—");
const mark = (ok: boolean) => (ok ? "✓" : "✗");

/** The scale lines as Markdown: load at two sizes, Redis memory, purge per batch size. */
export function scaleTables(result: ScaleResult): string {
  const load = [
    `| backend | sessions | read p50 µs | read p99 µs | p50 large/small (bar ≤ ${LOAD_RATIO_BAR}×) |`,
    "|---|---:|---:|---:|---:|",
  ];
  for (const line of result.load) {
    const ratio = line.p50LargeUs / line.p50SmallUs;
    load.push(
      `| ${line.backend} | ${count(line.small)} → ${count(line.large)} | ${us(line.p50SmallUs)} → ${us(line.p50LargeUs)} | ` +
        `${us(line.p99SmallUs)} → ${us(line.p99LargeUs)} | ${ratio.toFixed(2)}× ${mark(ratio <= LOAD_RATIO_BAR)} |`,
    );
  }
  const { bytesPerSession, encoding } = result.redisMemory;
  const memory = [
    "| Redis memory per session (MEMORY USAGE, median) | hash encoding |",
    "|---:|---|",
    `| ${count(bytesPerSession)} B | ${encoding} |`,
  ];
  const purge = [
    `| purge batch size | expired rows | seconds | rows/s (bar ≥ ${count(PURGE_ROWS_PER_SEC_BAR)}) | longest DELETE ms (bar ≤ ${PURGE_STATEMENT_MS_BAR}) | final, empty statement ms | live rows left |`,
    "|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const line of result.purge) {
    purge.push(
      `| ${count(line.batchSize)} | ${count(line.rows)} | ${line.seconds.toFixed(1)} | ` +
        `${count(line.rowsPerSec)} ${mark(line.rowsPerSec >= PURGE_ROWS_PER_SEC_BAR)} | ` +
        `${count(line.longestStatementMs)} ${mark(line.longestStatementMs <= PURGE_STATEMENT_MS_BAR)} | ` +
        `${count(line.finalStatementMs)} | ${count(line.liveLeft)} |`,
    );
  }
  return [load.join("\n"), memory.join("\n"), purge.join("\n")].join("\n\n");
}
