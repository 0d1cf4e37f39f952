import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { withSession } from "../../src/adapters/fetch.js";
import { defineSession, type SessionManager, SessionStoreError } from "../../src/index.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { databaseUrl } from "../helpers/databases.js";
import { listen } from "../helpers/listen.js";
import { canStartPostgres, type PrivatePostgres, startPostgres } from "../helpers/postgres-server.js";

// Each writer owns one session and appends its write numbers to `done`, one request at a time.
// One key rewritten whole is the strictest check: a stale write that lands late reverts it.
const schema = z.object({ done: z.array(z.number().int()).default([]) });
type Schema = typeof schema;

const storeTimeoutMs = 1000;
// Scheduling on a shared 2-core machine: a failed call may be noticed this late. A bound, not a benchmark.
const slackMs = 750;
const outageMs = 3000;
const writersPerPath = 6;
const restarts = 2;

/** One request: direct (`load`, `set`, `commit` on the manager) or one GET through `withSession`. */
interface Attempt {
  writer: string;
  n: number;
  startedAt: number;
  ms: number;
  /** The slowest single manager call (`load` or `commit`) of a direct request; the whole request over HTTP. */
  callMs: number;
  outcome: "ok" | "store-error" | "unexpected";
  detail?: string;
}

const app = (sessions: SessionManager<Schema>) =>
  withSession(sessions, (request, session) => {
    const n = Number(new URL(request.url).searchParams.get("n"));
    session.set("done", [...session.get("done"), n]);
    return Response.json({ ok: true });
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeError = (error: unknown) =>
  error instanceof Error ? `${error.constructor.name}: ${error.message}` : `non-error: ${String(error)}`;

/** The documented postgres.js setup (docs/stores.md): statement and lock timeouts at most storeTimeout. */
const appClient = (url: string) =>
  postgres(url, {
    max: 8,
    onnotice: () => {},
    connection: { statement_timeout: storeTimeoutMs, lock_timeout: storeTimeoutMs },
  });

async function postmasterStart(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select pg_postmaster_start_time()::text as started`;
    return String(row?.started);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

describe.skipIf(!canStartPostgres)("a private PostgreSQL restarted under traffic (drizzleStore over postgres.js)", () => {
  let pg: PrivatePostgres | undefined;
  let client: postgres.Sql | undefined;
  let http: Awaited<ReturnType<typeof listen>> | undefined;
  let sessions: SessionManager<Schema>;
  let sharedStartedBefore: string | undefined;

  beforeAll(async () => {
    if (databaseUrl) sharedStartedBefore = await postmasterStart(databaseUrl);
    pg = await startPostgres();
    // The app's one client for the whole test: it must come back on its own after each restart.
    client = appClient(pg.url);
    const db = drizzle({ client });
    await migrate(db);
    sessions = defineSession({ schema, store: drizzleStore({ db }), storeTimeout: storeTimeoutMs / 1000 });
    http = await listen(app(sessions));
  });

  afterAll(async () => {
    await http?.close();
    await client?.end({ timeout: 1 });
    await pg?.destroy();
  });

  it("fails requests during each outage with SessionStoreError or 503 within storeTimeout, loses no committed write, and serves again on the same client", async () => {
    if (pg === undefined || http === undefined) throw new Error("setup failed");
    const cluster = pg;
    const server = http;
    if (databaseUrl) expect(cluster.port).not.toBe(Number(new URL(databaseUrl).port || 5432));

    const attempts: Attempt[] = [];
    const ok = new Map<string, number[]>();
    const cookies = new Map<string, string>();
    const t0 = performance.now();
    const now = () => performance.now() - t0;

    const direct = async (writer: string, n: number): Promise<Attempt> => {
      const startedAt = now();
      let callMs = 0;
      const timed = async <T>(call: () => Promise<T>) => {
        const began = performance.now();
        try {
          return await call();
        } finally {
          callMs = Math.max(callMs, performance.now() - began);
        }
      };
      try {
        const session = await timed(() => sessions.load(cookies.get(writer)));
        session.set("done", [...session.get("done"), n]);
        const setCookie = await timed(() => session.commit());
        if (setCookie.length > 0) cookies.set(writer, cookieHeader(setCookie));
        return { writer, n, startedAt, ms: now() - startedAt, callMs, outcome: "ok" };
      } catch (error) {
        const outcome = error instanceof SessionStoreError ? "store-error" : "unexpected";
        return { writer, n, startedAt, ms: now() - startedAt, callMs, outcome, detail: describeError(error) };
      }
    };
    const overHttp = async (writer: string, n: number): Promise<Attempt> => {
      const startedAt = now();
      const cookie = cookies.get(writer);
      try {
        // A hang shows up as this abort, far beyond the bound asserted below.
        const response = await fetch(`${server.url}/append?n=${n}`, {
          headers: cookie === undefined ? {} : { Cookie: cookie },
          signal: AbortSignal.timeout(20_000),
        });
        const body = await response.text();
        const ms = now() - startedAt;
        const setCookie = response.headers.getSetCookie();
        if (response.status === 200) {
          if (setCookie.length > 0) cookies.set(writer, cookieHeader(setCookie));
          return { writer, n, startedAt, ms, callMs: ms, outcome: "ok" };
        }
        // The documented outage answer: 503, no cookie (the client keeps its own), no stack.
        const storeDown = response.status === 503 && setCookie.length === 0 && !/\bat\s|Error/.test(body);
        const detail = `${response.status} ${body.slice(0, 200)}`;
        return { writer, n, startedAt, ms, callMs: ms, outcome: storeDown ? "store-error" : "unexpected", detail };
      } catch (error) {
        return { writer, n, startedAt, ms: now() - startedAt, callMs: 0, outcome: "unexpected", detail: describeError(error) };
      }
    };

    // Every writer gets its session while the server is up.
    const writers = [
      ...Array.from({ length: writersPerPath }, (_, i) => ({ name: `direct-${i}`, send: direct })),
      ...Array.from({ length: writersPerPath }, (_, i) => ({ name: `http-${i}`, send: overHttp })),
    ];
    for (const writer of writers) {
      const first = await writer.send(writer.name, 0);
      expect(first.outcome, first.detail).toBe("ok");
      ok.set(writer.name, [0]);
    }

    let running = true;
    const loops = writers.map(async (writer) => {
      for (let n = 1; running; n++) {
        const attempt = await writer.send(writer.name, n);
        attempts.push(attempt);
        if (attempt.outcome === "ok") ok.get(writer.name)?.push(n);
        // Paced, so a failing backend is probed steadily rather than in a tight loop.
        await sleep(attempt.outcome === "ok" ? 5 : 20);
      }
    });

    const outages: { from: number; to: number }[] = [];
    const resumeMs: number[] = [];
    for (let i = 0; i < restarts; i++) {
      await sleep(600);
      await cluster.stop();
      const from = now();
      await sleep(outageMs);
      const to = now();
      await cluster.start();
      outages.push({ from, to });
      // Service resumes on the same manager and client. postgres.js reconnects each connection
      // after a back-off that grows with its failed attempts (up to 20 s by default), so the
      // first success may take seconds; meanwhile requests keep failing with 503s, in bounded time.
      const back = new Set<string>();
      const restartedAt = now();
      while (back.size < writers.length && now() < restartedAt + 30_000) {
        for (const a of attempts) if (a.outcome === "ok" && a.startedAt >= restartedAt) back.add(a.writer);
        await sleep(50);
      }
      expect([...back].sort(), `writers served again after restart ${i + 1}`).toEqual(writers.map((w) => w.name).sort());
      resumeMs.push(now() - restartedAt);
    }
    const resumed = now();
    await sleep(1500);
    running = false;
    await Promise.all(loops);

    const unexpected = attempts.filter((a) => a.outcome === "unexpected");
    expect(unexpected.map((a) => `${a.writer}#${a.n}: ${a.detail}`)).toEqual([]);

    // Requests that began while the server was down, early enough to end before it came back
    // if they keep to the bound: all failed, each within storeTimeout (+ slack).
    const inOutage = attempts.filter((a) =>
      outages.some((o) => a.startedAt >= o.from && a.startedAt <= o.to - storeTimeoutMs - slackMs),
    );
    expect(inOutage.length).toBeGreaterThanOrEqual(writers.length * restarts);
    expect(inOutage.filter((a) => a.outcome === "ok")).toEqual([]);
    const maxOutageMs = Math.max(...inOutage.map((a) => a.ms));
    expect(maxOutageMs).toBeLessThan(storeTimeoutMs + slackMs);
    // Nothing hangs: every manager call keeps to storeTimeout, and a request, which makes at
    // most two store calls (load, save), to twice that (one straddling a stop or a start).
    const maxCallMs = Math.max(...attempts.map((a) => a.callMs));
    const maxMs = Math.max(...attempts.map((a) => a.ms));
    expect(maxCallMs).toBeLessThan(2 * storeTimeoutMs + slackMs);
    expect(Math.max(...attempts.filter((a) => a.writer.startsWith("direct")).map((a) => a.callMs))).toBeLessThan(
      storeTimeoutMs + slackMs,
    );
    expect(maxMs).toBeLessThan(2 * storeTimeoutMs + slackMs);

    // Once back, the same manager and client keep serving every writer.
    const failedAfter = attempts.filter((a) => a.startedAt >= resumed && a.outcome !== "ok");
    for (const writer of writers) {
      const served = attempts.filter((a) => a.writer === writer.name && a.startedAt >= resumed && a.outcome === "ok");
      expect(served.length, writer.name).toBeGreaterThanOrEqual(3);
    }

    // No committed write lost: every number whose commit returned OK is stored, read back both
    // through the app's own manager and through a new client that shares nothing with it.
    const verifyClient = appClient(cluster.url);
    let lost = 0;
    let committed = 0;
    try {
      const fresh = defineSession({ schema, store: drizzleStore({ db: drizzle({ client: verifyClient }) }) });
      for (const writer of writers) {
        const confirmed = ok.get(writer.name) ?? [];
        committed += confirmed.length;
        for (const manager of [sessions, fresh]) {
          const stored = new Set((await manager.load(cookies.get(writer.name))).get("done"));
          lost += confirmed.filter((n) => !stored.has(n)).length;
        }
      }
    } finally {
      await verifyClient.end({ timeout: 1 });
    }
    expect(lost).toBe(0);

    // The shared server was never restarted.
    if (sharedStartedBefore !== undefined && databaseUrl) {
      expect(await postmasterStart(databaseUrl)).toBe(sharedStartedBefore);
    }
    console.info(
      `postgres restart x${restarts} (${outageMs} ms down each): ${attempts.length} requests, ` +
        `${inOutage.length} started during outages, all failed with SessionStoreError/503; ` +
        `max latency in outage ${maxOutageMs.toFixed(0)} ms, max request ${maxMs.toFixed(0)} ms ` +
        `(storeTimeout ${storeTimeoutMs} ms); served again ${resumeMs.map((ms) => ms.toFixed(0)).join(", ")} ms ` +
        `after each start; ${failedAfter.length} failures after that; ${committed} committed writes, lost ${lost}`,
    );
  });
});
