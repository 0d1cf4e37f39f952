import type { StoreStats } from "../../index.js";
import { failure } from "../failure.js";
import { count, table } from "../format.js";
import { type Io, printJson } from "../io.js";
import { type GlobalOptions, openOperator } from "../open-operator.js";

export interface StatsCommandOptions extends GlobalOptions {
  /** Most frequent values shown per indexed column. */
  top: number;
  json?: boolean;
}

/** `tesserae stats`: `operator.stats`, which only the Drizzle store can answer (SQL aggregates). */
export async function statsCommand(options: StatsCommandOptions, io: Io): Promise<void> {
  const opened = await openOperator(options);
  try {
    const stats = await opened.operator.stats({ top: options.top });
    if (stats === null) throw failure("stats needs a Drizzle store (drizzleStore); this store cannot report them");
    if (options.json) printJson(io, stats);
    else io.out(render(stats));
  } finally {
    await opened.close();
  }
}

function render(stats: StoreStats): string {
  const bytes = (n: number) => `${count(n)} B`;
  const lines = [
    table([
      ["live", count(stats.live)],
      ["expired", count(stats.expired)],
      ["created last hour", count(stats.createdLastHour)],
      ["created last day", count(stats.createdLastDay)],
      ["data p50", bytes(stats.bytes.p50)],
      ["data p95", bytes(stats.bytes.p95)],
      ["data max", bytes(stats.bytes.max)],
    ]),
  ];
  for (const { field, values } of stats.top) {
    lines.push("", `top ${field}`);
    lines.push(
      values.length === 0
        ? "  (no live session has a value)"
        : table(
            values.map((v) => [JSON.stringify(v.value), `${count(v.sessions)}`]),
            "  ",
          ),
    );
  }
  return lines.join("\n");
}
