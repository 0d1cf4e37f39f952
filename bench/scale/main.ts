/**
 * `npx tsx bench/scale/main.ts [--quick]`: the scale lines alone, on the machine's Postgres
 * (`DATABASE_URL`) and Redis (`REDIS_URL`), printed as Markdown tables.
 */
import { randomUUID } from "node:crypto";
import { measureScale, scaleTables } from "./index.js";

const quick = process.argv.includes("--quick");
const started = performance.now();
measureScale({
  quick,
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test",
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  redisPrefix: `tessera_bench_scale:${randomUUID().slice(0, 8)}:`,
  log: (line) => process.stderr.write(`${line}\n`),
})
  .then((result) => {
    const seconds = Math.round((performance.now() - started) / 1000);
    process.stdout.write(
      `${scaleTables(result)}\n\n${JSON.stringify({ quick, node: process.version, elapsedSeconds: seconds })}\n`,
    );
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
