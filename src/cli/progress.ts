import cliProgress from "cli-progress";
import { count } from "./format.js";

/** A progress bar over a count known up front (`purge`, `import`). */
export interface CountBar {
  /** Shows `done` so far; a `done` past the count stretches the total rather than overflowing. */
  update(done: number): void;
  stop(): void;
}

/**
 * A bar on `stream` (stderr's terminal) from 0 to `total`, labelled `verb` ("purging"). The count
 * is taken before the work and the work can outrun it (rows written meanwhile), so the total
 * grows with what is done; work another process did never shows, so a bar may end short of 100 %.
 */
export function countBar(stream: NodeJS.WriteStream, verb: string, total: number): CountBar {
  const bar = new cliProgress.SingleBar(
    {
      format: `${verb} [{bar}] {percentage}% | {done} / {all} | ETA {eta_formatted}`,
      stream,
      clearOnComplete: true,
      // Not hidden: a Ctrl-C mid-run would leave the terminal without a cursor.
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { done: count(0), all: count(total) });
  let shownTotal = total;
  return {
    update(done) {
      if (done > shownTotal) {
        shownTotal = done;
        bar.setTotal(shownTotal);
      }
      bar.update(done, { done: count(done), all: count(shownTotal) });
    },
    stop: () => bar.stop(),
  };
}
