/**
 * `npx tsx bench/http/main.ts [--quick] [--only <regex>] [--cpu-prof <dir>]`: the HTTP line alone,
 * on the machine's Redis (`REDIS_URL`). `--cpu-prof` writes each server process's V8 profile to `dir`.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import { HTTP_CONFIG, httpTable, measureHttp } from "./index.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const flagValue = (flag: string) => {
  const at = argv.indexOf(flag);
  return at === -1 ? undefined : argv[at + 1];
};
const only = flagValue("--only");
const profileDir = flagValue("--cpu-prof");
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redisPrefix = `tessera_bench_http:${randomUUID().replaceAll("-", "").slice(0, 12)}:`;

const started = performance.now();
const rows = await measureHttp({
  quick,
  redisUrl,
  redisPrefix,
  log: (line) => process.stderr.write(`${line}\n`),
  ...(only === undefined ? {} : { only: new RegExp(only, "i") }),
  ...(profileDir === undefined ? {} : { serverExecArgv: ["--cpu-prof", "--cpu-prof-dir", resolve(profileDir)] }),
});
const config = quick ? HTTP_CONFIG.quick : HTTP_CONFIG.full;
const meta = { quick, ...config, node: process.version, elapsedSeconds: Math.round((performance.now() - started) / 100) / 10 };
process.stdout.write(`${httpTable(rows)}\n\n${JSON.stringify(meta)}\n`);
