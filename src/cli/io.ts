/** Where a command writes: stdout for its result; the caller decides about errors and exit codes. */
export interface Io {
  /** Writes `text` and a newline to stdout. */
  out(text: string): void;
  /** A terminal to draw a progress bar on, or null (a pipe, a file, CI): then no bar. */
  tty: NodeJS.WriteStream | null;
}

/** `--json` output: one JSON document on one line, for `jq` and for log lines alike. */
export const printJson = (io: Io, value: unknown) => io.out(JSON.stringify(value));
