import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionConfigError, SessionCorruptError } from "../../src/errors.js";
import { defineSession, type SessionEvent } from "../../src/index.js";
import type { SessionPatch, StoredSession } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisCache } from "../../src/stores/redis/redis-cache.js";
import { createToken, hashToken } from "../../src/token.js";
import { cookieHeader } from "../helpers/cookies.js";
import { sized } from "../helpers/records.js";
import { monitoredRedis } from "../helpers/redis-monitor.js";
import { canStartRedis, freePorts, redisUrl, startCluster } from "../helpers/redis-server.js";
import { wrongTypes } from "../helpers/redis-wrong-types.js";
import { appSchema } from "./contract/setup.js";

// The core's clock, deliberately months away from Redis's: every TTL must be relative to it.
const now = new Date(Date.UTC(2027, 5, 1, 12));
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000);

function record(overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    id: hashToken(createToken()),
    data: { userId: { json: "u1" } },
    expiresAt: at(3600),
    absoluteExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    schemaVersion: 1,
    rev: 1,
    successorId: null,
    ...overrides,
  };
}

function patchOf(set: SessionPatch["set"], deleted: string[] = [], expiresAt = at(3600)): SessionPatch {
  return { set, deleted, expiresAt, updatedAt: at(1), schemaVersion: 2, maxBytes: 65536 };
}

describe("redisCache options", () => {
  const redis = new Redis({ lazyConnect: true });
  it("rejects a missing client, a non-positive ttl and an empty or brace-holding prefix with SessionConfigError", () => {
    const bad = [
      () => redisCache({} as never),
      () => redisCache({ redis, ttl: 0 }),
      () => redisCache({ redis, ttl: -5 }),
      () => redisCache({ redis, ttl: Number.NaN }),
      () => redisCache({ redis, prefix: "" }),
      () => redisCache({ redis, prefix: "app{x}:" }),
    ];
    for (const make of bad) expect(make).toThrow(SessionConfigError);
    expect(() => redisCache({ redis, ttl: 0.5, prefix: "app:" })).not.toThrow();
  });

  it("issue 13.6: ttl is a Duration: a number is seconds, as before; text and parts work; a bad one is CONFIG", () => {
    expect(redisCache({ redis, ttl: 300 }).ttlMs).toBe(300_000);
    expect(redisCache({ redis, ttl: "5m" }).ttlMs).toBe(300_000);
    expect(redisCache({ redis, ttl: { minutes: 1, seconds: 30 } }).ttlMs).toBe(90_000);
    expect(redisCache({ redis }).ttlMs).toBe(300_000);
    expect(() => redisCache({ redis, ttl: "5 minutes" as never })).toThrow(SessionConfigError);
    expect(() => redisCache({ redis, ttl: { minutes: -1 } })).toThrow(SessionConfigError);
  });
});

describe.skipIf(!redisUrl)("redisCache on a real Redis", () => {
  const prefix = `tessera-test:${createToken().slice(0, 12)}:`;
  let redis: Redis;
  let cache: ReturnType<typeof redisCache>;
  const key = (id: string) => `${prefix}c:{${id}}`;

  beforeAll(() => {
    redis = new Redis(redisUrl ?? "");
    cache = redisCache({ redis, prefix });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.unlink(...keys);
    await redis.quit();
  });

  it("put then get round-trips a record: dates, null absolute expiry, entries with meta, exp and flash", async () => {
    const r = record({
      data: {
        userId: { json: "u1" },
        lastSeen: { json: "2026-01-01T00:00:00.000Z", meta: { values: ["Date"] } },
        notice: { json: "saved", flash: true },
        otp: { json: "123456", exp: at(60).getTime() },
        "emoji 𝄞 key": { json: { nested: [1, null, "ſé"] } },
      },
      absoluteExpiresAt: at(7200),
      createdAt: new Date(now.getTime() - 1000),
      schemaVersion: 3,
      rev: 4,
    });
    await cache.put(r, now);
    expect(await cache.get(r.id)).toEqual(sized(r));
    const plain = record();
    await cache.put(plain, now);
    expect(await cache.get(plain.id)).toEqual(sized(plain));
  });

  it("get of an id never cached is null", async () => {
    expect(await cache.get(hashToken(createToken()))).toBeNull();
  });

  it("B12: a corrupt copy is SessionCorruptError from get (a data problem, not an outage); marks are not copies", async () => {
    for (const [field, value] of [
      ["exp", "soon"],
      ["rev", ""],
      ["updated", "1e3"],
      ["d:userId", "{not json"],
    ] as const) {
      const r = record();
      await cache.put(r, now);
      await redis.hset(key(r.id), field, value);
      await expect(cache.get(r.id), field).rejects.toBeInstanceOf(SessionCorruptError);
    }
    const r = record();
    await cache.put(r, now);
    await cache.invalidate([r.id]); // a tombstone
    expect(await cache.get(r.id)).toBeNull();
    const other = record();
    await cache.patch(other.id, patchOf({ a: { json: 1 } }), 9, now); // no copy: a floor mark
    expect(await redis.hget(key(other.id), "floor")).toBe("9");
    expect(await cache.get(other.id)).toBeNull();
  });

  it("B12: a key of another type (string, list, set, zset, stream) at a cache key is a corrupt copy from get; put, patch and invalidate replace it, touch leaves it", async () => {
    for (const [kind, plant] of Object.entries(wrongTypes(redis))) {
      const r = record({ rev: 2 });
      await plant(key(r.id));
      await expect(cache.get(r.id), kind).rejects.toBeInstanceOf(SessionCorruptError);
      await cache.put(r, now); // neither a copy nor a mark: a fill replaces it
      expect(await cache.get(r.id), kind).toEqual(sized(r));
      await plant(key(r.id));
      await cache.patch(r.id, patchOf({ a: { json: 1 } }), 3, now); // no copy at rev 2 to apply to
      expect(await redis.hgetall(key(r.id)), kind).toEqual({ floor: "3" });
      await plant(key(r.id));
      await cache.touch(r.id, at(60), now); // no copy to move: left for get to report
      await expect(cache.get(r.id), kind).rejects.toBeInstanceOf(SessionCorruptError);
      await plant(key(r.id));
      await cache.invalidate([r.id]);
      expect(await redis.hgetall(key(r.id)), kind).toEqual({ dead: "1" });
    }
  });

  it("B12: through the core, a key of another type at a cache key is dropped and the session read from its store: no cache-down, no corrupt", async () => {
    const events: SessionEvent["type"][] = [];
    const sessions = defineSession({
      schema: appSchema,
      cookie: { secure: true },
      store: memoryStore(),
      cache: redisCache({ redis, prefix }),
      onEvent: (event) => events.push(event.type),
    });
    for (const [kind, plant] of Object.entries(wrongTypes(redis))) {
      const s = await sessions.load(undefined);
      s.set("userId", "u1");
      const cookie = cookieHeader(await s.commit());
      const id = hashToken(cookie.slice(cookie.indexOf("=") + 1));
      expect(await redis.hget(key(id), "rev"), kind).toBe("1"); // cached
      await plant(key(id));
      const loaded = await sessions.load(cookie);
      expect(loaded.isNew, kind).toBe(false);
      expect(loaded.get("userId"), kind).toBe("u1");
      expect(await redis.type(key(id)), kind).toBe("hash"); // the junk replaced by a tombstone
      // A save that meets one (planted after the load read the copy) is not an outage either.
      await plant(key(id));
      loaded.set("theme", "dark");
      await loaded.commit();
      expect((await sessions.load(cookie)).get("theme"), kind).toBe("dark");
    }
    expect(events).not.toContain("cache-down");
    expect(events).not.toContain("corrupt");
  });

  it("a put with an older or equal rev than the cached copy is refused; a newer one replaces the whole copy", async () => {
    const r = record({ rev: 5, data: { a: { json: 1 }, b: { json: 2 } } });
    await cache.put(r, now);
    await cache.put({ ...r, rev: 4, data: { a: { json: "old" } } }, now);
    await cache.put({ ...r, rev: 5, data: { a: { json: "same rev" } } }, now);
    expect(await cache.get(r.id)).toEqual(sized(r));
    const newer = { ...r, rev: 6, data: { c: { json: 3 } } };
    await cache.put(newer, now);
    expect(await cache.get(r.id)).toEqual(sized(newer));
  });

  it("patch applies set, deleted, expiry, version and rev to a copy at rev - 1", async () => {
    const r = record({ rev: 2, data: { a: { json: 1 }, b: { json: 2 } } });
    await cache.put(r, now);
    const p = patchOf({ a: { json: "one" }, c: { json: [3] } }, ["b"], at(7200));
    await cache.patch(r.id, p, 3, now);
    expect(await cache.get(r.id)).toEqual(
      sized({
        ...r,
        data: { a: { json: "one" }, c: { json: [3] } },
        expiresAt: p.expiresAt,
        updatedAt: p.updatedAt,
        schemaVersion: 2,
        rev: 3,
      }),
    );
  });

  it("patch on a copy not at rev - 1 drops it and leaves a floor mark: get is null, older fills are refused", async () => {
    const r = record({ rev: 2 });
    await cache.put(r, now);
    await cache.patch(r.id, patchOf({ a: { json: 1 } }), 5, now); // revs 3 and 4 were never seen
    expect(await cache.get(r.id)).toBeNull();
    expect(await redis.hgetall(key(r.id))).toEqual({ floor: "5" });
    await cache.put({ ...r, rev: 4 }, now);
    expect(await cache.get(r.id)).toBeNull();
  });

  it("after patch on a missing copy a put of rev - 1 is refused but a put of rev is accepted", async () => {
    const r = record({ rev: 7 });
    await cache.patch(r.id, patchOf({ a: { json: 1 } }), 7, now);
    await cache.put({ ...r, rev: 6 }, now);
    expect(await cache.get(r.id)).toBeNull();
    await cache.put(r, now);
    expect(await cache.get(r.id)).toEqual(sized(r));
    const ttl = await redis.pttl(key(r.id));
    expect(ttl).toBeGreaterThan(299_000); // the copy's own TTL, not the mark's
  });

  it("patch never touches a copy at rev or newer (a faster fill already brought it)", async () => {
    const r = record({ rev: 9, data: { a: { json: "newest" } } });
    await cache.put(r, now);
    await cache.patch(r.id, patchOf({ a: { json: "older write" } }), 8, now);
    await cache.patch(r.id, patchOf({ a: { json: "same write" } }), 9, now);
    expect(await cache.get(r.id)).toEqual(sized(r));
  });

  it("after invalidate a put of the same or a newer rev is refused until the tombstone's ttl ends", async () => {
    const short = redisCache({ redis, prefix, ttl: 0.4 });
    const r = record({ rev: 3 });
    await short.put(r, now);
    await short.invalidate([r.id]);
    expect(await redis.hgetall(key(r.id))).toEqual({ dead: "1" });
    expect(await redis.pttl(key(r.id))).toBeLessThanOrEqual(400);
    await short.put(r, now);
    await short.put({ ...r, rev: 99 }, now);
    await short.patch(r.id, patchOf({ a: { json: 1 } }), 100, now);
    await short.touch(r.id, at(9000), now);
    expect(await short.get(r.id)).toBeNull();
    expect(await redis.hgetall(key(r.id))).toEqual({ dead: "1" });
    await new Promise((resolve) => setTimeout(resolve, 450));
    await short.put(r, now);
    expect(await short.get(r.id)).toEqual(sized(r));
  });

  it("invalidate tombstones every id given, including ids never cached, and accepts an empty list", async () => {
    const records = Array.from({ length: 25 }, (_, i) => record({ rev: i + 1 }));
    for (const r of records.slice(0, 20)) await cache.put(r, now);
    await cache.invalidate(records.map((r) => r.id));
    await cache.invalidate([]);
    for (const r of records) {
      expect(await cache.get(r.id)).toBeNull();
      expect(await redis.hget(key(r.id), "dead")).toBe("1");
    }
  });

  it("touch moves the expiry and TTL of a copy without changing its rev, and creates nothing when absent", async () => {
    const r = record({ rev: 4, expiresAt: at(60) });
    await cache.put(r, now);
    expect(await redis.pttl(key(r.id))).toBeLessThanOrEqual(60_000);
    await cache.touch(r.id, at(3600), now);
    expect(await cache.get(r.id)).toEqual(sized({ ...r, expiresAt: at(3600) }));
    expect(await redis.pttl(key(r.id))).toBeGreaterThan(299_000);
    const absent = hashToken(createToken());
    await cache.touch(absent, at(3600), now);
    expect(await redis.exists(key(absent))).toBe(0);
  });

  it("R46: a copy's TTL is min(the session's remaining life by the injected clock, ttl)", async () => {
    const soon = record({ expiresAt: at(60) });
    await cache.put(soon, now);
    const ttlSoon = await redis.pttl(key(soon.id));
    expect(ttlSoon).toBeGreaterThan(58_000);
    expect(ttlSoon).toBeLessThanOrEqual(60_000);

    const late = record({ expiresAt: at(14 * 86400) });
    await cache.put(late, now);
    const ttlLate = await redis.pttl(key(late.id));
    expect(ttlLate).toBeGreaterThan(298_000);
    expect(ttlLate).toBeLessThanOrEqual(300_000);

    await cache.patch(soon.id, patchOf({}, [], at(120)), 2, now);
    expect(await redis.pttl(key(soon.id))).toBeLessThanOrEqual(120_000);
    expect(await redis.pttl(key(soon.id))).toBeGreaterThan(118_000);
  });

  it("R46: a non-positive remaining life caches nothing: put, patch and touch drop the copy and keep a floor", async () => {
    const expired = record({ expiresAt: at(-1), rev: 2 });
    await cache.put(expired, now);
    expect(await redis.hgetall(key(expired.id))).toEqual({ floor: "2" });

    const r = record({ rev: 3 });
    await cache.put(r, now);
    await cache.touch(r.id, now, now);
    expect(await redis.hgetall(key(r.id))).toEqual({ floor: "3" });

    const q = record({ rev: 3 });
    await cache.put(q, now);
    await cache.patch(q.id, patchOf({}, [], at(-5)), 4, now);
    expect(await redis.hgetall(key(q.id))).toEqual({ floor: "4" });
  });

  it("a grace-period shadow (successorId set) is not cached", async () => {
    const shadow = record({ data: {}, successorId: hashToken(createToken()) });
    await cache.put(shadow, now);
    expect(await redis.exists(key(shadow.id))).toBe(0);
  });

  it("R43: a corrupt record (data not an object) is not cached, so the core sees the store's row as it is", async () => {
    const corrupt = record({ data: [] as unknown as StoredSession["data"] });
    await cache.put(corrupt, now);
    expect(await redis.exists(key(corrupt.id))).toBe(0);
  });

  it("R45/CVE-2011-4136: keys carry the prefix; an application key equal to the session id is neither read nor written", async () => {
    const r = record();
    await redis.hset(r.id, { rev: "1", exp: String(at(3600).getTime()), "d:userId": '{"json":"attacker"}' });
    await redis.set(`c:{${r.id}}`, "app value");
    try {
      expect(await cache.get(r.id)).toBeNull();
      await cache.put(r, now);
      await cache.invalidate([r.id]);
      expect(await redis.hget(r.id, "d:userId")).toBe('{"json":"attacker"}');
      expect(await redis.get(`c:{${r.id}}`)).toBe("app value");
      expect(await redis.keys(`*${r.id}*`)).toEqual(expect.arrayContaining([r.id, `c:{${r.id}}`, key(r.id)]));
      expect(await redis.keys(`*${r.id}*`)).toHaveLength(3);
    } finally {
      await redis.del(r.id, `c:{${r.id}}`);
    }
  });

  it("a session with 3,000 keys round-trips and patches (scripts send fields in slices)", async () => {
    const data: StoredSession["data"] = {};
    for (let i = 0; i < 3000; i++) data[`k${i}`] = { json: i };
    const r = record({ data, rev: 1 });
    await cache.put(r, now);
    expect(await cache.get(r.id)).toEqual(sized(r));
    const set: StoredSession["data"] = {};
    for (let i = 0; i < 2500; i++) set[`n${i}`] = { json: -i };
    const deleted = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    await cache.patch(r.id, patchOf(set, deleted), 2, now);
    const got = await cache.get(r.id);
    expect(Object.keys(got?.data ?? {})).toHaveLength(3000);
    expect(got?.data.k2999).toEqual({ json: 2999 });
    expect(got?.data.n2499).toEqual({ json: -2499 });
    expect(got?.data.k0).toBeUndefined();
  });
});

describe.skipIf(!canStartRedis)("redisCache round trips (MONITOR on a private redis-server)", () => {
  let monitored: Awaited<ReturnType<typeof monitoredRedis>>;
  let redis: Redis;
  let watcher: typeof monitored.watcher;

  beforeAll(async () => {
    monitored = await monitoredRedis(20000);
    ({ redis, watcher } = monitored);
  });
  afterAll(async () => {
    await monitored?.stop();
  });

  it("get, put, patch and touch are exactly one command each; invalidate is one per id", async () => {
    const cache = redisCache({ redis });
    const r = record({ data: { a: { json: 1 }, b: { json: 2 } } });
    await redis.ping();
    await watcher.take();
    const names = async () => (await watcher.take()).map((args) => args[0]?.toLowerCase());

    await cache.put(r, now);
    expect(await names()).toEqual(["eval"]); // the first use on a connection sends the script itself
    await cache.put({ ...r, rev: 2 }, now);
    expect(await names()).toEqual(["evalsha"]);
    await cache.get(r.id);
    expect(await names()).toHaveLength(1); // the read script, sent whole on its first use here
    await cache.get(r.id);
    expect(await names()).toEqual(["evalsha"]);
    await cache.patch(r.id, patchOf({ a: { json: 9 } }, ["b"]), 3, now);
    expect(await names()).toHaveLength(1);
    await cache.touch(r.id, at(7200), now);
    expect(await names()).toHaveLength(1);
    await cache.invalidate([r.id, hashToken(createToken()), hashToken(createToken())]);
    expect(await names()).toHaveLength(3);
  });
});

describe.skipIf(!canStartRedis)("redisCache on a Redis Cluster (3 masters)", () => {
  let stopCluster: (() => Promise<void>) | undefined;
  let cluster: Cluster;

  beforeAll(async () => {
    const started = await startCluster(await freePorts(30000, 3, { bus: true }));
    stopCluster = started.stop;
    cluster = new Cluster(started.nodes);
  }, 60_000);
  afterAll(async () => {
    cluster?.disconnect();
    await stopCluster?.();
  });

  it("put, get, patch and invalidate of sessions spread over every master, one single-slot command each", async () => {
    const cache = redisCache({ redis: cluster });
    const records = Array.from({ length: 30 }, () => record({ data: { a: { json: 1 } } }));
    for (const r of records) await cache.put(r, now);
    for (const r of records) expect(await cache.get(r.id)).toEqual(sized(r));
    const masters = cluster.nodes("master");
    expect(masters).toHaveLength(3);
    for (const node of masters) expect(await node.dbsize()).toBeGreaterThan(0); // the ids landed on every node

    const first = records[0] as StoredSession;
    await cache.patch(first.id, patchOf({ b: { json: 2 } }), 2, now);
    expect((await cache.get(first.id))?.data).toEqual({ a: { json: 1 }, b: { json: 2 } });

    await cache.invalidate(records.map((r) => r.id));
    for (const r of records) {
      expect(await cache.get(r.id)).toBeNull();
      expect(await cluster.hget(`tessera:c:{${r.id}}`, "dead")).toBe("1");
    }
  });
});
