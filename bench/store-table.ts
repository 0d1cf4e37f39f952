import { type SyncCommit, syncLabel } from "./sync-commit.js";
import { type Backend, CYCLES, type Cycle, type Measurement } from "./workload.js";

/** One contender's medians, per cycle and concurrency. */
export interface Row {
  name: string;
  backend: Backend;
  /** Postgres only: the `synchronous_commit` its database ran with. */
  syncCommit?: SyncCommit;
  floor: boolean;
  results: Record<Cycle, { c1: Measurement; c64: Measurement }>;
}

/** How a backend is printed (the SQLite lines name their driver). */
const BACKEND_LABELS: Partial<Record<Backend, string>> = { "better-sqlite3": "sqlite, better-sqlite3", libsql: "sqlite, libsql" };

/** The line a row belongs to (its backend, and for Postgres the sync setting): ratios stay within one. */
export const lineOf = (row: Pick<Row, "backend" | "syncCommit">): string => {
  const backend = BACKEND_LABELS[row.backend] ?? row.backend;
  return row.syncCommit === undefined ? backend : `${backend}, ${syncLabel(row.syncCommit)}`;
};

const ops = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (n: number | null) => (n === null || !Number.isFinite(n) ? "—" : `${Math.round(n)}`);

/**
 * The store-level Markdown table. "× floor" is the contender's ops/s ÷ its line's floor's, at
 * concurrency 1 (higher is better; 1.00× = as fast as the raw client). "client CPU" is this
 * process's CPU time per cycle over the measured window, at c1 and c64 (lower is better).
 */
export function storeTable(rows: Row[]): string {
  const floors = new Map<string, Row>();
  for (const row of rows) if (row.floor) floors.set(lineOf(row), row);
  const ratio = (row: Row, cycle: Cycle) => {
    const floor = floors.get(lineOf(row));
    if (floor === undefined) return "—";
    return `${(row.results[cycle].c1.opsPerSec / floor.results[cycle].c1.opsPerSec).toFixed(2)}×`;
  };
  const header = ["contender", "line"];
  const align = ["---", "---"];
  for (const cycle of CYCLES) {
    header.push(
      `${cycle} c1 ops/s`,
      `${cycle} c1 p50/p99 µs`,
      `${cycle} c1 × floor`,
      `${cycle} c64 ops/s`,
      `${cycle} client CPU µs c1 / c64`,
    );
    align.push("---:", "---:", "---:", "---:", "---:");
  }
  const lines = [`| ${header.join(" | ")} |`, `|${align.join("|")}|`];
  for (const row of rows) {
    const cells = [row.floor ? `**${row.name}** (floor)` : row.name, lineOf(row)];
    for (const cycle of CYCLES) {
      const { c1, c64 } = row.results[cycle];
      cells.push(
        ops(c1.opsPerSec),
        `${us(c1.p50Us)} / ${us(c1.p99Us)}`,
        ratio(row, cycle),
        ops(c64.opsPerSec),
        `${us(c1.cpuUsPerOp)} / ${us(c64.cpuUsPerOp)}`,
      );
    }
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}
