import { BASELINE_NAME } from "./apps.js";

export interface HttpRow {
  name: string;
  c1: { opsPerSec: number; p50Us: number; p99Us: number };
  c64: { opsPerSec: number };
}

/** The HTTP line as Markdown; the ratio is the row's ops/s over express-session + connect-redis's, at c1 and c64. */
export function httpTable(rows: HttpRow[]): string {
  const baseline = rows.find((row) => row.name === BASELINE_NAME);
  const ops = (n: number) => Math.round(n).toLocaleString("en-US");
  const us = (n: number) => (Number.isFinite(n) ? `${Math.round(n)}` : "—");
  const ratio = (row: HttpRow) =>
    baseline === undefined
      ? "—"
      : `${(row.c1.opsPerSec / baseline.c1.opsPerSec).toFixed(2)}× / ${(row.c64.opsPerSec / baseline.c64.opsPerSec).toFixed(2)}×`;
  const lines = [
    "| app | mix c1 ops/s | mix c1 p50/p99 µs | mix c64 ops/s | vs express-session c1 / c64 |",
    "|---|---:|---:|---:|---:|",
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${ops(row.c1.opsPerSec)} | ${us(row.c1.p50Us)} / ${us(row.c1.p99Us)} | ${ops(row.c64.opsPerSec)} | ${ratio(row)} |`,
    );
  }
  return lines.join("\n");
}
