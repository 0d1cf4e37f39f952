#!/usr/bin/env node
import { main } from "./program.js";

// The `tesserae` bin (package.json "bin"; tsup keeps the shebang and marks the file executable).
const code = await main(
  process.argv.slice(2),
  {
    out: (text) => process.stdout.write(`${text}\n`),
    tty: process.stdout.isTTY ? process.stdout : null,
  },
  (line) => process.stderr.write(`${line}\n`),
);
// Let what was written reach a pipe before exiting.
await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
// Always exit: the connections the CLI opened are closed by now, but a --config module's own
// pool or Redis client would keep the process alive, and those belong to the app, not to us.
process.exit(code);
