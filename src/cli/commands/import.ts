import { constants, type WriteStream } from "node:fs";
import { open } from "node:fs/promises";
import {
  connectPgSimpleSource,
  connectRedisSource,
  type ImportMapper,
  type ImportResult,
  importSessions,
  type LegacyRedisClient,
  type LegacySource,
} from "../../express-session/index.js";
import type { SessionManager, SessionSchema } from "../../index.js";
import { describeError, failure, redactUrl, usage } from "../failure.js";
import { count, counted, seconds } from "../format.js";
import { type Io, printJson } from "../io.js";
import { loadConfigModule } from "../load-config.js";
import type { GlobalOptions } from "../open-operator.js";
import { countBar } from "../progress.js";

export interface ImportCommandOptions extends GlobalOptions {
  from: string;
  prefix: string;
  table: string;
  schema: string;
  report: string;
  concurrency: number;
  dryRun?: boolean;
  json?: boolean;
}

type AnyManager = SessionManager<SessionSchema>;

/**
 * `tesserae import`: express-session's sessions (connect-redis keys or connect-pg-simple rows)
 * into the `--config` manager's store, through `importSessions` (docs/migrating.md). Rejected
 * sessions go to `--report` as JSON lines, never to the store.
 */
export async function importCommand(options: ImportCommandOptions, io: Io): Promise<void> {
  if (options.config === undefined) {
    throw usage("import needs --config: the module exporting your defineSession manager (with its legacy option)");
  }
  if (options.from !== "connect-redis" && options.from !== "connect-pg-simple") {
    throw usage(`--from must be connect-redis or connect-pg-simple, not ${JSON.stringify(options.from)}`);
  }
  const { module, candidates } = await loadConfigModule(options.config);
  const sessions = candidates.find(isManager);
  if (sessions === undefined)
    throw failure(`${options.config} exports no defineSession manager (as \`sessions\` or as its default export)`);
  const map = module.importSession;
  if (map !== undefined && typeof map !== "function") throw usage(`${options.config}: importSession must be a function`);
  const opened = await openSource(options);
  let report: WriteStream | null = null;
  try {
    report = await openReport(options.report);
    const out = report;
    // A write that fails later (a full disk) ends the run with that error, not an unhandled event.
    let reportError: unknown = null;
    out.on("error", (error) => {
      reportError ??= error;
    });
    // On stderr, so that stdout stays the summary; only when both are a terminal (not in a pipe, not in CI).
    const terminal = !options.json && io.tty !== null && process.stderr.isTTY ? process.stderr : null;
    const bar = terminal === null ? null : await progressBar(opened.source, terminal);
    let result: ImportResult;
    try {
      result = await importSessions(sessions, opened.source, {
        ...(map === undefined ? {} : { map: map as ImportMapper<SessionSchema> }),
        dryRun: options.dryRun ?? false,
        concurrency: options.concurrency,
        onReject: (rejection) => out.write(`${JSON.stringify(rejection)}\n`),
        onProgress: (progress) => bar?.update(progress.read),
      });
    } catch (error) {
      // defineSession without `legacy` (or with a cookie store): the operator's to fix.
      if ((error as { code?: unknown }).code === "SESSION_USAGE") throw usage(describeError(error));
      throw error;
    } finally {
      bar?.stop();
    }
    if (reportError !== null)
      throw failure(`cannot write the report ${options.report}: ${describeError(reportError)}`, reportError);
    print(io, options, result);
  } finally {
    await closeReport(report);
    await opened.close();
  }
}

function isManager(candidate: unknown): candidate is AnyManager {
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof (candidate as Partial<AnyManager>).importLegacy === "function" &&
    typeof (candidate as Partial<AnyManager>).load === "function"
  );
}

async function openSource(options: ImportCommandOptions): Promise<{ source: LegacySource; close(): Promise<void> }> {
  if (options.from === "connect-redis") {
    if (options.redisUrl === undefined || options.redisUrl === "") throw usage("--from connect-redis needs --redis-url");
    const { connectRedis } = await import("../open-operator.js");
    const redis = await connectRedis(options.redisUrl, redactUrl(options.redisUrl));
    const source = connectRedisSource({ redis: redis as unknown as LegacyRedisClient, prefix: options.prefix });
    return { source, close: async () => void (await redis.quit().catch(() => redis.disconnect())) };
  }
  const url = options.databaseUrl;
  if (url === undefined || !/^postgres(ql)?:\/\//i.test(url)) {
    throw usage("--from connect-pg-simple needs --database-url postgres://… (the database connect-pg-simple wrote to)");
  }
  const { default: postgres } = await import("postgres").catch((error: unknown) => {
    throw failure('--from connect-pg-simple needs the "postgres" package: npm install postgres', error);
  });
  const sql = postgres(url, { max: 2, onnotice: () => {}, connect_timeout: 10 });
  try {
    await sql`select 1`;
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => undefined);
    throw failure(`cannot connect to ${redactUrl(url)}: ${describeError(error)}`, error);
  }
  const source = connectPgSimpleSource({
    query: async (text, params) => [...(await sql.unsafe(text, params))] as Record<string, unknown>[],
    table: options.table,
    schema: options.schema,
  });
  return { source, close: () => sql.end({ timeout: 5 }) };
}

/**
 * The report file, created (or emptied) before the first session: a rerun never shows an older
 * run's lines. Never through a symlink (O_NOFOLLOW: one planted at the path is refused, not
 * followed to someone else's file), and mode 0600 also when it already existed with another.
 */
async function openReport(path: string): Promise<WriteStream> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | (constants.O_NOFOLLOW ?? 0);
  try {
    const handle = await open(path, flags, 0o600);
    try {
      await handle.chmod(0o600);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return handle.createWriteStream();
  } catch (error) {
    throw failure(`cannot write the report ${path}: ${describeError(error)}`, error);
  }
}

async function closeReport(stream: WriteStream | null): Promise<void> {
  if (stream === null) return;
  await new Promise<void>((done) => stream.end(() => done()));
}

function print(io: Io, options: ImportCommandOptions, result: ImportResult): void {
  const perSecond = result.read === 0 ? 0 : Math.round(result.read / Math.max(result.seconds, 0.001));
  if (options.json) {
    printJson(io, {
      ...result,
      seconds: Math.round(result.seconds * 1000) / 1000,
      sessionsPerSecond: perSecond,
      report: options.report,
    });
    return;
  }
  const verb = result.dryRun ? "would import" : "imported";
  io.out(
    `${verb} ${counted(result.imported, "session")} of ${count(result.read)} read in ${seconds(result.seconds)} (${count(perSecond)} sessions/s)`,
  );
  if (result.existing > 0) io.out(`  ${counted(result.existing, "session")} already imported (left as they are)`);
  if (result.empty > 0) io.out(`  ${counted(result.empty, "session")} with no data (not imported)`);
  if (result.rejected > 0) {
    const reasons = Object.entries(result.reasons).map(([reason, n]) => `${count(n)} ${reason}`);
    io.out(`  ${counted(result.rejected, "session")} rejected (${reasons.join(", ")}): see ${options.report}`);
  }
}

/** A bar over the source's count (one extra pass of SCAN or a count(*)), on stderr's terminal only. */
async function progressBar(source: LegacySource, stream: NodeJS.WriteStream) {
  const total = await source.count();
  return total === null || total === 0 ? null : countBar(stream, "importing", total);
}
