import type { SessionOperator } from "../../index.js";
import { count, counted, seconds } from "../format.js";
import { type Io, printJson } from "../io.js";
import { type GlobalOptions, openOperator } from "../open-operator.js";
import { countBar } from "../progress.js";

export interface PurgeCommandOptions extends GlobalOptions {
  /** Rows per `purgeExpired` call (one short `DELETE` each). */
  batch: number;
  dryRun?: boolean;
  /** False with `--no-vacuum`. */
  vacuum: boolean;
  json?: boolean;
}

/**
 * `tesserae purge`: `operator.purge`, batches until one comes back short. Every batch is its own
 * statement, so no long transaction holds locks while the app serves traffic.
 */
export async function purgeCommand(options: PurgeCommandOptions, io: Io): Promise<void> {
  const opened = await openOperator(options);
  try {
    const { operator } = opened;
    // One `now` for the whole run: the count, the bar and every batch agree on what is
    // expired, and sessions expiring meanwhile (an endless trickle on a busy site) are left to
    // the next run instead of keeping this one going.
    const now = new Date();
    const started = performance.now();
    if (options.dryRun) {
      const expired = (await operator.countExpired({ now })) ?? 0;
      report(io, options, expired, (performance.now() - started) / 1000, true);
      return;
    }
    const bar = !options.json && io.tty !== null ? await progressBar(operator, now, io.tty) : null;
    let deleted: number;
    try {
      deleted = await operator.purge({ batchSize: options.batch, now, onProgress: (total) => bar?.update(total) });
    } finally {
      bar?.stop();
    }
    const elapsed = (performance.now() - started) / 1000;
    // After the count and the timing: VACUUM is upkeep, not purge throughput.
    if (deleted > 0 && options.vacuum) await operator.vacuum();
    report(io, options, deleted, elapsed, false);
  } finally {
    await opened.close();
  }
}

function report(io: Io, options: PurgeCommandOptions, deleted: number, elapsed: number, dryRun: boolean): void {
  const rowsPerSecond = dryRun || deleted === 0 ? 0 : Math.round(deleted / Math.max(elapsed, 0.001));
  if (options.json) {
    printJson(io, { deleted, seconds: Math.round(elapsed * 1000) / 1000, rowsPerSecond, dryRun });
  } else if (dryRun) {
    io.out(`${counted(deleted, "expired session")} would be purged`);
  } else {
    io.out(`purged ${counted(deleted, "expired session")} in ${seconds(elapsed)} (${count(rowsPerSecond)} rows/s)`);
  }
}

/**
 * A bar whose total is `countExpired` (when the store can count). Rows that another purger
 * deletes meanwhile never show up here, so the bar may finish short of 100 %; rows beyond the
 * count (none with one `now`, unless the count raced a writer) stretch the total.
 */
async function progressBar(operator: SessionOperator, now: Date, stream: NodeJS.WriteStream) {
  const total = await operator.countExpired({ now });
  return total === null || total === 0 ? null : countBar(stream, "purging", total);
}
