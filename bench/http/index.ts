/**
 * The end-to-end HTTP line: three Express apps (no session, express-session + connect-redis,
 * Tessera on `redisStore`), each in its own server process on 127.0.0.1, driven over keep-alive
 * HTTP from this process with the store-level table's 90 % read / 10 % modify mix.
 */
import { Redis } from "ioredis";
import { deletePrefix } from "../resources.js";
import { type Contender, type Measurement, medianOf, runCycle } from "../workload.js";
import { APPS, type AppInfo } from "./apps.js";
import { httpContender } from "./http-contender.js";
import { type ServerProcess, startServer } from "./server-process.js";
import type { HttpRow } from "./table.js";

export { type HttpRow, httpTable } from "./table.js";

export interface HttpOptions {
  quick: boolean;
  redisUrl: string;
  /** Every key of the run lives under it; all of them are deleted at the end, also on failure. */
  redisPrefix: string;
  log?: (line: string) => void;
  /** Runs only the apps whose names match (for profiling one of them). */
  only?: RegExp;
  /** Extra Node flags for the server processes, e.g. `["--cpu-prof", "--cpu-prof-dir", dir]`. */
  serverExecArgv?: readonly string[];
}

export const HTTP_CONFIG = {
  full: { sessions: 10_000, repetitions: 3, warmupMs: 300, durationMs: 1_500 },
  quick: { sessions: 1_000, repetitions: 1, warmupMs: 100, durationMs: 300 },
} as const;

/**
 * All apps are up at once and take turns, repetition by repetition, so a change in the machine's
 * other load between one app's runs and the next's shifts all of them rather than the ratios.
 */
export async function measureHttp(options: HttpOptions): Promise<HttpRow[]> {
  const config = options.quick ? HTTP_CONFIG.quick : HTTP_CONFIG.full;
  const log = options.log ?? (() => {});
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const running: {
    info: AppInfo;
    server: ServerProcess;
    contender: Contender;
    c1: Measurement[];
    c64: Measurement[];
    /** This process's CPU time spent driving the app: the client's share of the machine. */
    clientCpuUs: number;
  }[] = [];
  try {
    for (const [index, info] of APPS.entries()) {
      if (options.only !== undefined && !options.only.test(info.name)) continue;
      const env = { redisUrl: options.redisUrl, redisPrefix: `${options.redisPrefix}${index}:` };
      const server = await startServer(info.kind, env, options.serverExecArgv);
      running.push({ info, server, contender: httpContender(info, server.port), c1: [], c64: [], clientCpuUs: 0 });
    }
    for (const { info, contender } of running) {
      if (info.seeded) log(`${info.name}: seeding ${config.sessions} sessions over HTTP`);
      await contender.seed(config.sessions);
    }
    const before = await Promise.all(running.map(({ server }) => server.usage()));
    for (let rep = 0; rep < config.repetitions; rep++) {
      for (const app of running) {
        const cpu = process.cpuUsage();
        // The store-level table's seeds, so both lines see the same sessions and operations.
        app.c1.push(await runCycle(app.contender, "mix", { ...config, concurrency: 1 }, 1000 * rep + 1));
        app.c64.push(await runCycle(app.contender, "mix", { ...config, concurrency: 64 }, 1000 * rep + 64));
        const { user, system } = process.cpuUsage(cpu);
        app.clientCpuUs += user + system;
      }
    }
    const after = await Promise.all(running.map(({ server }) => server.usage()));
    return running.map(({ info, c1, c64, clientCpuUs }, k) => {
      const m1 = medianOf(c1);
      const m64 = medianOf(c64);
      const cpuUs = after[k]!.cpuUs - before[k]!.cpuUs;
      const requests = after[k]!.requests - before[k]!.requests;
      log(
        `${info.name}: mix c1 ${Math.round(m1.opsPerSec)} ops/s, c64 ${Math.round(m64.opsPerSec)} ops/s; ` +
          `CPU per request: server ${Math.round(cpuUs / requests)} µs, client ${Math.round(clientCpuUs / requests)} µs (${requests} requests)`,
      );
      return {
        name: info.name,
        c1: { opsPerSec: m1.opsPerSec, p50Us: m1.p50Us ?? Number.NaN, p99Us: m1.p99Us ?? Number.NaN },
        c64: { opsPerSec: m64.opsPerSec },
      };
    });
  } finally {
    for (const { contender, server } of running) {
      await contender.close();
      await server.stop();
    }
    // After the servers stopped, so none writes behind the cleanup.
    const deleted = await deletePrefix(redis, options.redisPrefix).catch(() => -1);
    redis.disconnect();
    log(`cleanup: deleted ${deleted} Redis keys under ${options.redisPrefix}`);
  }
}
