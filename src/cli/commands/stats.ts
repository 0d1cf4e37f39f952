import type { StoreStats } from "../../store.js";
import { failure } from "../failure.js";
import { count, table } from "../format.js";
import { type Io, printJson } from "../io.js";
import { type GlobalOptions, openStore } from "../open-store.js";

export interface StatsCommandOptions extends GlobalOptions {
  /** Most frequent values shown per indexed column. */
  top: number;
  json?: boolean;
}

/** `tessera stats`: `store.stats`, which only the Drizzle store has (SQL aggregates). */
export async function statsCommand(options: StatsCommandOptions, io: Io): Promise<void> {
  const opened = await openStore(options);
  try {
    const { store } = opened;
    if (!store.stats) throw failure("stats needs a Drizzle store (drizzleStore); this store cannot report them");
    const stats = await store.stats(new Date(), { top: options.top });
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
