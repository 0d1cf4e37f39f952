import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Cluster, Redis } from "ioredis";
import type { CookieSessionStore, SessionCache, SessionStore, StoredSession } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisCache } from "../../src/stores/redis/redis-cache.js";
import { redisStore } from "../../src/stores/redis/redis-store.js";
import { databaseUrl, openPglite, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { sessionsTableViews } from "../helpers/drizzle-harness.js";
import { openFileHarness } from "../helpers/file-harness.js";
import { keysOn } from "../helpers/redis-keys.js";
import { canStartRedis, freePorts, redisUrl, startCluster } from "../helpers/redis-server.js";

/**
 * One backend of the reliability suite: what `defineSession` is given (store, and cache for
 * cached_db), raw views of what it holds, and a way to write a record in the backend's own form,
 * bypassing the store (for the fuzzer's hostile records).
 */
export interface Backend {
  name: string;
  /** The record lives in the cookie (no server state: no revoke, no interrupted saves). */
  clientSide: boolean;
  store: SessionStore | CookieSessionStore;
  cache?: SessionCache;
  /** Everything the backend holds, as text (searched for raw tokens). */
  dump(): Promise<string>;
  /** Records held, expired ones included (0 for the cookie store). */
  count(): Promise<number>;
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Writes `raw` as the record of `id` in the backend's own form (see `RawRecord`). */
  plant(id: string, raw: RawRecord): Promise<void>;
}

/**
 * A hostile record in a backend's own form; each backend takes the kind it can hold:
 * `object` (memory: any JS value in the map), `row` (Postgres: column values as SQL text,
 * `data` as JSON text), `hash` (Redis: field → string), `bytes` (file contents).
 */
export type RawRecord =
  | { kind: "object"; value: unknown }
  | { kind: "row"; row: RawRow }
  | { kind: "hash"; fields: Record<string, string> }
  | { kind: "bytes"; bytes: Uint8Array }
  /** cached_db: a row in Postgres and, in front of it, a hash in the cache. */
  | { kind: "cached"; row: RawRow; fields: Record<string, string> };

/** One sessions row as SQL literals (cast by Postgres), so that any shape the columns allow can be planted. */
export interface RawRow {
  data: string;
  expiresAt: string;
  absoluteExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
  schemaVersion: number;
  rev: number;
  successorId: string | null;
}

export type BackendName = "memory" | "pglite" | "postgres" | "redis" | "redis-cluster" | "cached-db" | "file" | "cookie";

interface BackendSpec {
  name: BackendName;
  /** Why it cannot run here (the global setup already printed how to enable it; under CI it fails instead). */
  skip: boolean;
  open(): Promise<Backend>;
}

const testPrefix = () => `tessera-rel:${randomUUID()}:`;

/** Every store of the suite, in the order they run; `skip` mirrors the contract suites' rules. */
export const backends: BackendSpec[] = [
  { name: "memory", skip: false, open: openMemory },
  { name: "pglite", skip: false, open: async () => drizzleBackend("pglite", await openPglite()) },
  { name: "postgres", skip: !databaseUrl, open: async () => drizzleBackend("postgres", await openPostgresJs(databaseUrl ?? "")) },
  { name: "redis", skip: !redisUrl, open: openRedis },
  { name: "redis-cluster", skip: !canStartRedis, open: openRedisCluster },
  { name: "cached-db", skip: !databaseUrl || !redisUrl, open: openCachedDb },
  { name: "file", skip: false, open: openFile },
  { name: "cookie", skip: false, open: openCookie },
];

async function openMemory(): Promise<Backend> {
  const map = new Map<string, StoredSession>();
  return {
    name: "memory",
    clientSide: false,
    store: memoryStore({ map }),
    dump: async () => JSON.stringify([...map.entries()]),
    count: async () => map.size,
    reset: async () => map.clear(),
    close: async () => {},
    async plant(id, raw) {
      if (raw.kind !== "object") throw new Error(`memory holds objects, not ${raw.kind}`);
      map.set(id, raw.value as StoredSession);
    },
  };
}

function drizzleBackend(name: BackendName, database: TestDatabase): Backend {
  return {
    name,
    clientSide: false,
    store: database.store,
    ...sessionsTableViews(database),
    close: () => database.close(),
    plant: (id, raw) => plantRow(database, id, raw),
  };
}

async function plantRow(database: TestDatabase, id: string, raw: RawRecord): Promise<void> {
  if (raw.kind !== "row") throw new Error(`Postgres holds rows, not ${raw.kind}`);
  const { row } = raw;
  await database.query(
    `insert into sessions (id, data, expires_at, absolute_expires_at, created_at, updated_at, schema_version, rev, successor_id)
     values ($1, $2::jsonb, $3::timestamptz, $4::timestamptz, $5::timestamptz, $6::timestamptz, $7, $8, $9)`,
    [
      id,
      row.data,
      row.expiresAt,
      row.absoluteExpiresAt,
      row.createdAt,
      row.updatedAt,
      row.schemaVersion,
      row.rev,
      row.successorId,
    ],
  );
}

/** Raw views of every key under `prefix` on a Redis or a Cluster (each master scanned). */
function redisViews(redis: Redis | Cluster, prefix: string) {
  const masters = () => (redis instanceof Cluster ? redis.nodes("master") : [redis]);
  const everyKey = (match: string) => keysOn(masters(), match);
  const dump = async () => {
    const keys = await everyKey(`${prefix}*`);
    const values = await Promise.all(
      keys.map(async (key) => ((await redis.type(key)) === "hash" ? redis.hgetall(key) : redis.smembers(key))),
    );
    return JSON.stringify(Object.fromEntries(keys.map((key, i) => [key, values[i]])));
  };
  const reset = async () => {
    await Promise.all((await everyKey(`${prefix}*`)).map((key) => redis.del(key)));
  };
  const count = async () => (await everyKey(`${prefix}s:*`)).length;
  const plantHash = async (key: string, raw: RawRecord) => {
    if (raw.kind !== "hash") throw new Error(`Redis holds hashes, not ${raw.kind}`);
    await redis.del(key);
    if (Object.keys(raw.fields).length > 0) await redis.hset(key, raw.fields);
  };
  return { dump, reset, count, plantHash };
}

function redisBackend(name: BackendName, redis: Redis | Cluster, stop: () => Promise<void>): Backend {
  const prefix = testPrefix();
  const views = redisViews(redis, prefix);
  return {
    name,
    clientSide: false,
    store: redisStore({ redis, prefix, indexes: ["userId"] }),
    dump: views.dump,
    count: views.count,
    reset: views.reset,
    async close() {
      await views.reset();
      await stop();
    },
    plant: (id, raw) => views.plantHash(`${prefix}s:{${id}}`, raw),
  };
}

async function openRedis(): Promise<Backend> {
  const redis = new Redis(redisUrl as string);
  return redisBackend("redis", redis, async () => {
    await redis.quit();
  });
}

async function openRedisCluster(): Promise<Backend> {
  const ports = await freePorts(24000, 3, { bus: true });
  const cluster = await startCluster(ports);
  const redis = new Cluster(cluster.nodes);
  if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
  return redisBackend("redis-cluster", redis, async () => {
    await redis.quit();
    await cluster.stop();
  });
}

/** Django's cached_db as an application configures it: `defineSession({ store: drizzleStore, cache: redisCache })`. */
async function openCachedDb(): Promise<Backend> {
  const database = await openPostgresJs(databaseUrl ?? "");
  const redis = new Redis(redisUrl as string);
  const prefix = testPrefix();
  const views = redisViews(redis, prefix);
  const rows = sessionsTableViews(database);
  return {
    name: "cached-db",
    clientSide: false,
    store: database.store,
    cache: redisCache({ redis, prefix }),
    // Both halves, so that the token check covers what the cache holds too.
    dump: async () => JSON.stringify({ rows: await database.query("select * from sessions"), cached: await views.dump() }),
    count: rows.count,
    reset: async () => {
      await rows.reset();
      await views.reset();
    },
    async close() {
      await views.reset();
      await redis.quit();
      await database.close();
    },
    // A row goes to Postgres; with `cached`, a hostile cached copy goes in front of it.
    async plant(id, raw) {
      if (raw.kind !== "cached") return plantRow(database, id, raw);
      await plantRow(database, id, { kind: "row", row: raw.row });
      await views.plantHash(`${prefix}c:{${id}}`, { kind: "hash", fields: raw.fields });
    },
  };
}

async function openFile(): Promise<Backend> {
  const { dir, ...harness } = await openFileHarness("tessera-reliability-");
  return {
    name: "file",
    clientSide: false,
    ...harness,
    async plant(id, raw) {
      if (raw.kind !== "bytes") throw new Error(`files hold bytes, not ${raw.kind}`);
      await writeFile(join(dir, `${id}.json`), raw.bytes, { mode: 0o600 });
    },
  };
}

async function openCookie(): Promise<Backend> {
  return {
    name: "cookie",
    clientSide: true,
    store: cookieStore({ secrets: ["a-reliability-secret-of-at-least-32-chars"] }),
    dump: async () => "",
    count: async () => 0,
    reset: async () => {},
    close: async () => {},
    async plant() {
      throw new Error("a cookie store holds nothing server-side: fuzz its cookies instead");
    },
  };
}
