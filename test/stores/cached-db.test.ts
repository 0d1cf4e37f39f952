import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { withCache } from "../../src/cached-store.js";
import { defineSession, type SessionEvent } from "../../src/index.js";
import type { SessionStore } from "../../src/store.js";
import { redisCache } from "../../src/stores/redis/redis-cache.js";
import { createToken, hashToken } from "../../src/token.js";
import { cookieHeader, tokenOf } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";
import { databaseUrl, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { canStartRedis, freePort, type PrivateRedis, redisUrl, startRedis } from "../helpers/redis-server.js";
import { appSchema } from "./contract/setup.js";
import { describeStore } from "./store-contract.js";

// Django's cached_db: the drizzle store on a real PostgreSQL with redisCache in front of it.
const url = databaseUrl ?? "";
const skip = !databaseUrl || !redisUrl;
const uniquePrefix = () => `tessera-test:${createToken().slice(0, 12)}:`;
const cacheKey = (prefix: string, id: string) => `${prefix}c:{${id}}`;
const idOf = (setCookie: string[]) => hashToken(tokenOf(setCookie));

async function dropKeys(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.unlink(...keys);
}

describeStore(
  "drizzle on PostgreSQL + redisCache",
  async () => {
    const database = await openPostgresJs(url);
    const redis = new Redis(redisUrl ?? "");
    const prefix = uniquePrefix();
    return {
      store: withCache(database.store, redisCache({ redis, prefix })),
      // Both halves, so the token checks (R4/R11) cover what the cache holds too.
      dump: async () => {
        const cached = await Promise.all((await redis.keys(`${prefix}*`)).map((key) => redis.hgetall(key)));
        return JSON.stringify({ rows: await database.query("select * from sessions"), cached });
      },
      count: async () => Number((await database.query("select count(*)::int as n from sessions"))[0]?.n),
      // B12: the row and its cached copy both spoiled (a spoiled copy alone is dropped and the row read).
      garbage: {
        "a corrupt copy of a corrupt row": async (id) => {
          await database.query("update sessions set expires_at = 'infinity' where id = $1", [id]);
          await redis.hset(cacheKey(prefix, id), "exp", "soon");
        },
        "no copy, data not an object": async (id) => {
          await database.query(`update sessions set data = '[1]'::jsonb where id = $1`, [id]);
          await redis.del(cacheKey(prefix, id));
        },
      },
      reset: async () => {
        await database.query("delete from sessions");
        await dropKeys(redis, prefix);
      },
      close: async () => {
        await dropKeys(redis, prefix);
        await redis.quit();
        await database.close();
      },
    };
  },
  { skip },
);

/** A store whose next `get` reads its row, then waits for `release()` before answering. */
function gatedStore(store: SessionStore) {
  let held: { arrived(): void; released: Promise<void> } | undefined;
  const gated: SessionStore = {
    ...store,
    get: async (id, now) => {
      const row = await store.get(id, now);
      const hold = held;
      held = undefined;
      if (hold) {
        hold.arrived();
        await hold.released;
      }
      return row;
    },
  };
  const holdNextGet = () => {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    held = { arrived, released: new Promise<void>((resolve) => (release = resolve)) };
    return { reached, release };
  };
  return { store: gated, holdNextGet };
}

/** MONITOR on the shared Redis: client commands on keys under `prefix` (not those run inside scripts). */
async function monitorPrefix(redis: Redis, prefix: string) {
  const monitor = await redis.monitor(); // its own connection
  let seen: string[][] = [];
  const markers = new Map<string, () => void>();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    const marker = args[0]?.toLowerCase() === "echo" ? markers.get(args[1] ?? "") : undefined;
    if (marker) marker();
    else if (source !== "lua" && args.some((arg) => arg.startsWith(prefix))) seen.push(args);
  });
  return {
    /** The commands since the last call, once MONITOR has caught up with everything sent. */
    async take(): Promise<string[]> {
      const marker = `marker-${createToken()}`;
      const arrived = new Promise<void>((resolve) => markers.set(marker, resolve));
      await redis.echo(marker);
      await arrived;
      const names = seen.map((args) => (args[0] ?? "").toLowerCase());
      seen = [];
      return names;
    },
    stop: () => monitor.disconnect(),
  };
}

describe.skipIf(skip)("cached_db: drizzle on PostgreSQL + redisCache", () => {
  let database: TestDatabase;
  let redis: Redis;
  let watcher: Awaited<ReturnType<typeof monitorPrefix>>;
  const prefix = uniquePrefix();
  let counted: ReturnType<typeof countingStore<SessionStore>>;
  let gate: ReturnType<typeof gatedStore>;
  const make = (options: { rolling?: boolean } = {}) =>
    defineSession({
      schema: appSchema,
      cookie: { secure: true },
      store: gate.store,
      cache: redisCache({ redis, prefix }),
      ...options,
    });

  beforeAll(async () => {
    database = await openPostgresJs(url);
    redis = new Redis(redisUrl ?? "");
    counted = countingStore(database.store);
    gate = gatedStore(counted.store);
    watcher = await monitorPrefix(redis, prefix);
  });
  beforeEach(() => counted.reset());
  afterAll(async () => {
    watcher?.stop();
    if (redis) await dropKeys(redis, prefix);
    await redis?.quit();
    await database?.close();
  });

  // entryBytes is the store's size measure, computed in process: not a statement.
  const sqlStatements = () =>
    Object.entries(counted.calls).reduce((sum, [method, n]) => (method === "entryBytes" ? sum : sum + n), 0);

  it("on a cache hit a load is 1 Redis command and 0 SQL statements; a save is 1 SQL statement and 1 Redis command", async () => {
    const sessions = make();
    const cookie = cookieHeader(
      await (async () => {
        const s = await sessions.load(undefined);
        s.set("userId", "u1");
        return s.commit();
      })(),
    );
    await watcher.take();
    counted.reset();

    const session = await sessions.load(cookie);
    expect(session.get("userId")).toBe("u1");
    expect(sqlStatements()).toBe(0);
    // One read script (EVALSHA, or EVAL on its first use on this connection).
    expect(await watcher.take()).toEqual([expect.stringMatching(/^eval(sha)?$/)]);

    session.set("theme", "dark");
    await session.commit();
    expect(counted.calls.patch).toBe(1);
    expect(sqlStatements()).toBe(1);
    expect(await watcher.take()).toHaveLength(1);
    expect((await sessions.load(cookie)).get("theme")).toBe("dark");
    expect(sqlStatements()).toBe(1);
  });

  it("B12: a corrupt cached copy is dropped and the session read from PostgreSQL: no cache-down, data intact", async () => {
    const events: SessionEvent["type"][] = [];
    const sessions = defineSession({
      schema: appSchema,
      cookie: { secure: true },
      store: database.store,
      cache: redisCache({ redis, prefix }),
      onEvent: (event) => events.push(event.type),
    });
    for (const [field, value] of [
      ["exp", "soon"],
      ["d:userId", "{not json"],
    ] as const) {
      const s = await sessions.load(undefined);
      s.set("userId", "u1");
      const setCookie = await s.commit();
      const id = idOf(setCookie);
      expect(await redis.hget(cacheKey(prefix, id), "rev"), field).toBe("1"); // cached
      await redis.hset(cacheKey(prefix, id), field, value);
      const again = await sessions.load(cookieHeader(setCookie));
      expect(again.isNew, field).toBe(false);
      expect(again.get("userId"), field).toBe("u1");
      // The spoiled copy was dropped (the core leaves a tombstone) and the row is intact.
      expect(await redis.hget(cacheKey(prefix, id), "rev"), field).toBeNull();
      expect((await database.store.get(id, new Date()))?.data, field).toEqual({ userId: { json: "u1" } });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).not.toContain("cache-down");
    expect(events).not.toContain("corrupt");
  });

  it("R52: a read-only request with rolling: false writes nothing to PostgreSQL or Redis", async () => {
    const sessions = make({ rolling: false });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    const cookie = cookieHeader(await s.commit());
    const reader = await sessions.load(cookie);
    expect(reader.get("userId")).toBe("u1");
    await watcher.take();
    counted.reset();
    expect(await reader.commit()).toEqual([]);
    expect(writes(counted.calls)).toBe(0);
    expect(sqlStatements()).toBe(0);
    expect(await watcher.take()).toEqual([]);
  });

  it("a fill of an older row held while another request writes is refused: a fresh load sees the write (20 races)", async () => {
    const sessions = make();
    for (let round = 0; round < 20; round++) {
      const s = await sessions.load(undefined);
      s.set("userId", `u${round}`);
      const setCookie = await s.commit();
      const cookie = cookieHeader(setCookie);
      const key = cacheKey(prefix, idOf(setCookie));
      await redis.del(key); // evicted: the next loads miss the cache and read PostgreSQL

      const { reached, release } = gate.holdNextGet();
      const readerA = sessions.load(cookie); // reads the row at rev 1, then waits before filling the cache
      await reached;
      const writerB = await sessions.load(cookie); // fills the cache with rev 1
      // Odd rounds: the copy is gone again, so B's cache patch finds nothing and leaves a floor mark.
      if (round % 2 === 1) await redis.del(key);
      writerB.set("theme", "dark");
      await writerB.save(); // PostgreSQL rev 2, then the cache
      release();
      expect((await readerA).get("theme")).toBe("light"); // A read before B wrote
      expect(await redis.hget(key, "rev")).toBe(round % 2 === 1 ? null : "2");

      const fresh = await sessions.load(cookie);
      expect(fresh.get("theme")).toBe("dark");
      expect(fresh.get("userId")).toBe(`u${round}`);
      expect(await redis.hget(key, "rev")).toBe("2");
    }
  });

  it("R24/R21/R25: destroy, rotate and revoke leave no cached copy that loads; each old key is a tombstone", async () => {
    const sessions = make();
    const signIn = async (userId: string) => {
      const s = await sessions.load(undefined);
      s.set("userId", userId);
      const setCookie = await s.commit();
      expect((await sessions.load(cookieHeader(setCookie))).get("userId")).toBe(userId); // cached now
      return { cookie: cookieHeader(setCookie), key: cacheKey(prefix, idOf(setCookie)) };
    };
    const expectGone = async (old: { cookie: string; key: string }) => {
      expect((await sessions.load(old.cookie)).isNew).toBe(true);
      expect(await redis.hgetall(old.key)).toEqual({ dead: "1" });
    };

    const destroyed = await signIn("d");
    const logout = await sessions.load(destroyed.cookie);
    await logout.destroy();
    await logout.commit();
    await expectGone(destroyed);

    const byToken = await signIn("t");
    expect(await sessions.destroy(byToken.cookie.split("=")[1] as string)).toBe(true);
    await expectGone(byToken);

    const rotated = await signIn("r");
    const login = await sessions.load(rotated.cookie);
    await login.rotate();
    const newSetCookie = await login.commit();
    await expectGone(rotated);
    expect((await sessions.load(cookieHeader(newSetCookie))).get("userId")).toBe("r");
    expect(await redis.hget(cacheKey(prefix, idOf(newSetCookie)), "rev")).not.toBeNull();

    const phone = await signIn("everywhere");
    const laptop = await signIn("everywhere");
    expect(await sessions.revoke({ where: { userId: "everywhere" } })).toBe(2);
    await expectGone(phone);
    await expectGone(laptop);
  });

  it("MEMORY USAGE of one cached session holding ~1 KB of JSON (12 cart items, a 300-character note, userId)", async () => {
    const sessions = make();
    const s = await sessions.load(undefined);
    s.set("userId", "user_01JABCDEF0123456789");
    s.set(
      "cart",
      Array.from({ length: 12 }, (_, i) => ({ sku: `SKU-${String(1000 + i)}-COTTON-TEE-BLUE-M`, qty: (i % 3) + 1 })),
    );
    s.set("notice", "n".repeat(300));
    const setCookie = await s.commit();
    const key = cacheKey(prefix, idOf(setCookie));
    const hash = await redis.hgetall(key);
    const dataBytes = Object.entries(hash)
      .filter(([field]) => field.startsWith("d:"))
      .reduce((sum, [field, value]) => sum + field.length + value.length, 0);
    const bytes = Number(await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0"));
    const encoding = await redis.object("ENCODING", key);
    // With Redis's default hash-max-listpack-value (64 bytes) the 300-byte note makes it a hashtable.
    console.log(
      `MEMORY USAGE of one cached session: ${bytes} bytes, ${encoding} (${dataBytes} bytes of d:<key> fields and JSON)`,
    );
    expect(dataBytes).toBeGreaterThan(900);
    expect(dataBytes).toBeLessThan(1200);
    expect(bytes).toBeGreaterThan(dataBytes);
  });
});

describe.skipIf(!canStartRedis || !databaseUrl)("cached_db when Redis goes down (a private redis-server killed by pid)", () => {
  let database: TestDatabase;
  const cacheClient = (server: PrivateRedis) => {
    const client = new Redis({
      host: "127.0.0.1",
      port: server.port,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 200,
    });
    client.on("error", () => {});
    return client;
  };
  const waitFor = async (condition: () => Promise<boolean>, what: string, timeoutMs = 40_000) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    database = await openPostgresJs(url);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("R47/R49: 20 requests succeed from PostgreSQL with one cache-down event; after a restart the cache is used again (cache-up), the outage's writes invalidated first", async () => {
    const server = await startRedis(await freePort(16000));
    const redis = cacheClient(server);
    try {
      await waitFor(async () => redis.status === "ready", "the cache client");
      const events: SessionEvent["type"][] = [];
      const sessions = defineSession({
        schema: appSchema,
        store: database.store,
        cache: redisCache({ redis }),
        onEvent: (event) => events.push(event.type),
      });
      const first = await sessions.load(undefined);
      first.set("userId", "u1");
      const setCookie = await first.commit();
      const cookie = cookieHeader(setCookie);
      const key = cacheKey("tessera:", idOf(setCookie));
      expect(await redis.exists(key)).toBe(1);

      await server.kill();
      for (let i = 1; i <= 20; i++) {
        const session = await sessions.load(cookie);
        expect(session.get("userId")).toBe("u1");
        session.set("visits", i);
        await session.commit();
      }
      expect((await sessions.load(cookie)).get("visits")).toBe(20);
      expect(events.filter((type) => type === "cache-down")).toHaveLength(1);
      expect(events).not.toContain("cache-up");

      await server.restart(); // empty: this server keeps nothing across a kill
      await waitFor(async () => {
        expect((await sessions.load(cookie)).get("visits")).toBe(20);
        return events.includes("cache-up");
      }, "cache-up");
      expect(events.filter((type) => type === "cache-down")).toHaveLength(1);
      // The session written during the outage was invalidated on recovery (B10): its key holds a
      // tombstone, never the pre-outage copy. A session created now is cached again.
      expect(await redis.hget(key, "d:visits")).toBeNull();
      const after = await sessions.load(undefined);
      after.set("userId", "u2");
      const afterKey = cacheKey("tessera:", idOf(await after.commit()));
      expect(await redis.exists(afterKey)).toBe(1);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });

  it("B10: another process that also saw the outage does not serve a session revoked by the first during it (it reads the store for the cache's ttl after recovering)", async () => {
    const ttlSeconds = 3;
    const server = await startRedis(await freePort(16000), ["--appendonly", "yes", "--appendfsync", "always"]);
    const redisA = cacheClient(server);
    const redisB = cacheClient(server);
    try {
      await waitFor(async () => redisA.status === "ready" && redisB.status === "ready", "the cache clients");
      const eventsB: SessionEvent["type"][] = [];
      const a = defineSession({
        schema: appSchema,
        store: database.store,
        cache: redisCache({ redis: redisA, ttl: ttlSeconds }),
      });
      const b = defineSession({
        schema: appSchema,
        store: database.store,
        cache: redisCache({ redis: redisB, ttl: ttlSeconds }),
        onEvent: (event) => eventsB.push(event.type),
      });
      const s = await b.load(undefined);
      s.set("userId", "victim");
      const cookie = cookieHeader(await s.commit());
      expect((await b.load(cookie)).get("userId")).toBe("victim"); // cached
      const cachedAt = Date.now();

      await server.kill();
      const other = await b.load(undefined); // B serves a request during the outage: it sees it
      other.set("userId", "u9");
      await other.commit();
      expect(eventsB).toContain("cache-down");
      expect(await a.revoke({ where: { userId: "victim" } })).toBe(1);
      await server.restart();

      let loads = 0;
      while (Date.now() < cachedAt + (ttlSeconds + 1) * 1000) {
        const session = await b.load(cookie);
        expect(session.isNew).toBe(true);
        loads++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(eventsB).toContain("cache-up");
      expect(loads).toBeGreaterThan(10);
    } finally {
      redisA.disconnect();
      redisB.disconnect();
      await server.stop();
    }
  });

  it("B10: a revoke or logout made while the cache was down is applied before the cache is trusted again: the revoked cookies never load, for the whole ttl", async () => {
    const ttlSeconds = 3;
    // Persisted (AOF), so the copies outlive the kill the way they outlive a network outage.
    const server = await startRedis(await freePort(16000), ["--appendonly", "yes", "--appendfsync", "always"]);
    const redis = cacheClient(server);
    try {
      await waitFor(async () => redis.status === "ready", "the cache client");
      const events: SessionEvent["type"][] = [];
      const sessions = defineSession({
        schema: appSchema,
        store: database.store,
        cache: redisCache({ redis, ttl: ttlSeconds }),
        onEvent: (event) => events.push(event.type),
      });
      const signIn = async (userId: string) => {
        const s = await sessions.load(undefined);
        s.set("userId", userId);
        return cookieHeader(await s.commit());
      };
      const revoked = [await signIn("victim"), await signIn("victim")]; // "log out everywhere"
      const loggedOut = await signIn("u2"); // logout (destroy)
      const written = await signIn("u3"); // a write the cache missed
      for (const cookie of [...revoked, loggedOut, written]) expect((await sessions.load(cookie)).isNew).toBe(false);
      const cachedAt = Date.now();

      await server.kill();
      expect(await sessions.revoke({ where: { userId: "victim" } })).toBe(2);
      const logout = await sessions.load(loggedOut);
      await logout.destroy();
      await logout.commit();
      const write = await sessions.load(written);
      write.set("theme", "dark");
      await write.commit();
      expect(events).toContain("cache-down");
      await server.restart();

      // Every load until well past the ttl: never the stale copy.
      let loads = 0;
      while (Date.now() < cachedAt + (ttlSeconds + 1) * 1000) {
        for (const cookie of [...revoked, loggedOut]) {
          const session = await sessions.load(cookie);
          expect(session.isNew).toBe(true);
          expect(session.get("userId")).toBeUndefined();
        }
        expect((await sessions.load(written)).get("theme")).toBe("dark");
        loads++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(events).toContain("cache-up"); // the cache was used again within the window
      expect(loads).toBeGreaterThan(10);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
