import { drizzle } from "drizzle-orm/postgres-js";
import { Redis } from "ioredis";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionManager } from "../../src/index.js";
import type { SessionCache, SessionStore } from "../../src/store.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import { redisCache, redisStore } from "../../src/stores/redis/index.js";
import { createToken } from "../../src/token.js";
import { cookieHeader } from "../helpers/cookies.js";
import { createDatabase, databaseUrl } from "../helpers/databases.js";
import { redisUrl } from "../helpers/redis-server.js";

// 10,000 writes of different keys over 100 sessions: writer j of session s sets `k<j>` once.
const sessionCount = 100;
const keysPerSession = 100;
const inFlight = 200;
type Key = `k${number}`;
const keys = Array.from({ length: keysPerSession }, (_, j): Key => `k${j}`);
// `owner` marks the record at creation; the k-keys are the writers' (a template-literal shape keeps `set` typed).
const schema = z.object(
  Object.fromEntries(["owner", ...keys].map((key) => [key, z.number().int().optional()])) as Record<
    Key | "owner",
    z.ZodOptional<z.ZodNumber>
  >,
);
type Schema = typeof schema;
const expected = (s: number, j: number) => s * keysPerSession + j + 1;
// Far above what any one write can take here: nothing is expected to time out, so a failed
// write is reported (and fails the test) rather than hidden by a tight bound.
const storeTimeout = "30s";
// 101 small entries are ~2 KB; the default 64 KiB bound (enforced by the store since B9) stays far away.
const maxBytes = 65_536;

interface Backend {
  /** The store (and cache) the app uses. */
  store: SessionStore;
  cache?: SessionCache;
  /** A second view that shares nothing with the app's cache: the system of record, read directly. */
  recordStore?: SessionStore;
  close(): Promise<void>;
}

async function postgresBackend(): Promise<Backend> {
  const fresh = await createDatabase(databaseUrl ?? "");
  const client = postgres(fresh.url, { max: 10, onnotice: () => {} });
  const close = async () => {
    await client.end({ timeout: 5 });
    await fresh.drop();
  };
  try {
    const db = drizzle({ client });
    await migrate(db);
    return { store: drizzleStore({ db }), close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A client on the shared Redis and a key prefix of this test's own, deleted by `close`. */
function redisSpace() {
  const redis = new Redis(redisUrl ?? "");
  const prefix = `tessera-load:${createToken().slice(0, 12)}:`;
  const close = async () => {
    const found = await redis.keys(`${prefix}*`);
    if (found.length > 0) await redis.unlink(...found);
    await redis.quit();
  };
  return { redis, prefix, close };
}

async function redisBackend(): Promise<Backend> {
  const { redis, prefix, close } = redisSpace();
  return { store: redisStore({ redis, prefix }), close };
}

async function cachedDbBackend(): Promise<Backend> {
  const database = await postgresBackend();
  const { redis, prefix, close } = redisSpace();
  return {
    store: database.store,
    cache: redisCache({ redis, prefix }),
    recordStore: database.store,
    close: async () => {
      await close();
      await database.close();
    },
  };
}

/** Runs `tasks` with at most `limit` in flight. */
async function pooled(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++] as () => Promise<void>;
      await task();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

async function hammer(sessions: SessionManager<Schema>) {
  const cookies: string[] = [];
  for (let s = 0; s < sessionCount; s++) {
    const session = await sessions.load(undefined);
    session.set("owner", s);
    cookies.push(cookieHeader(await session.commit()));
  }
  // Session-major order: ~200 in flight means about two sessions with ~100 writers each at a
  // time, all loading the same record and committing a different key of it.
  const committed: { s: number; j: number }[] = [];
  const failures: string[] = [];
  const tasks = cookies.flatMap((cookie, s) =>
    keys.map((key, j) => async () => {
      try {
        const session = await sessions.load(cookie);
        session.set(key, expected(s, j));
        await session.commit();
        committed.push({ s, j });
      } catch (error) {
        failures.push(`s${s} ${key}: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`);
      }
    }),
  );
  const started = performance.now();
  await pooled(tasks, inFlight);
  const seconds = (performance.now() - started) / 1000;
  return { cookies, committed, failures, seconds };
}

/** Successful writes whose key is absent or holds another value when `sessions` reads it back. */
async function lostWrites(sessions: SessionManager<Schema>, cookies: string[], committed: { s: number; j: number }[]) {
  const stored = await Promise.all(cookies.map(async (cookie) => (await sessions.load(cookie)).all() as Record<string, unknown>));
  return committed.filter(({ s, j }) => stored[s]?.[`k${j}`] !== expected(s, j)).length;
}

const backends = [
  { name: "Postgres (drizzleStore, postgres.js)", open: postgresBackend, skip: !databaseUrl },
  { name: "Redis (redisStore)", open: redisBackend, skip: !redisUrl },
  { name: "cached_db (drizzleStore + redisCache)", open: cachedDbBackend, skip: !databaseUrl || !redisUrl },
];

describe("load: 10,000 concurrent writes of different keys over 100 sessions", () => {
  for (const backend of backends) {
    it.skipIf(backend.skip)(
      `${backend.name}: every committed write is stored (0 lost)`,
      async () => {
        const { store, cache, recordStore, close } = await backend.open();
        try {
          const sessions = defineSession({ schema, store, storeTimeout, maxBytes, ...(cache ? { cache } : {}) });
          const { cookies, committed, failures, seconds } = await hammer(sessions);
          expect(failures.slice(0, 5)).toEqual([]);
          expect(committed.length).toBe(sessionCount * keysPerSession);
          const lost = await lostWrites(sessions, cookies, committed);
          // cached_db: the database itself must hold every write, not only the cache.
          const lostInRecord =
            recordStore === undefined
              ? 0
              : await lostWrites(defineSession({ schema, store: recordStore, maxBytes }), cookies, committed);
          expect(lost).toBe(0);
          expect(lostInRecord).toBe(0);
          console.info(
            `load ${backend.name}: ${committed.length} writes committed, ${failures.length} failed, ` +
              `lost ${lost}${recordStore ? ` (in the database: ${lostInRecord})` : ""}; ` +
              `${seconds.toFixed(1)} s at ${inFlight} in flight (${(committed.length / seconds).toFixed(0)} writes/s)`,
          );
        } finally {
          await close();
        }
      },
      180_000,
    );
  }
});
