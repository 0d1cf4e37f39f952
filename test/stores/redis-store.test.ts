import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import {
  SessionConfigError,
  SessionCorruptError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
} from "../../src/errors.js";
import { guardStore } from "../../src/guarded-store.js";
import { defineSession, type SessionEvent } from "../../src/index.js";
import type { SessionPatch, StoredData, StoredSession } from "../../src/store.js";
import { redisStore } from "../../src/stores/redis/redis-store.js";
import { createToken, hashToken } from "../../src/token.js";
import { cookieHeader } from "../helpers/cookies.js";
import { sized } from "../helpers/records.js";
import { monitoredRedis } from "../helpers/redis-monitor.js";
import { canStartRedis, freePort, type PrivateRedis, redisUrl, startRedis } from "../helpers/redis-server.js";
import { wrongTypes } from "../helpers/redis-wrong-types.js";

// The store's clock: months away from the real one, so a TTL taken from Redis's clock would show.
const t0 = new Date("2026-01-01T12:00:00.000Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const HOUR = 3_600_000;

function record(data: StoredData = {}, overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    id: hashToken(createToken()),
    data,
    expiresAt: at(3600),
    absoluteExpiresAt: null,
    createdAt: t0,
    updatedAt: t0,
    schemaVersion: 1,
    rev: 1,
    successorId: null,
    ...overrides,
  };
}

const patchOf = (set: StoredData, deleted: string[] = [], expiresAt = at(7200), updatedAt = at(60)): SessionPatch => ({
  set,
  deleted,
  expiresAt,
  updatedAt,
  schemaVersion: 2,
  maxBytes: 65536,
});

/** PTTL is the remaining life by the store's clock, give or take the time the test took. */
const expectTtl = (pttl: number, ms: number) => {
  expect(pttl).toBeLessThanOrEqual(ms);
  expect(pttl).toBeGreaterThan(ms - 5000);
};

describe("redisStore options", () => {
  const redis = new Redis({ lazyConnect: true });
  afterAll(() => redis.disconnect());

  it("rejects a missing client, an empty or brace-holding prefix and bad indexes with SessionConfigError", () => {
    const bad = [
      () => redisStore({} as never),
      () => redisStore({ redis: {} as never }),
      () => redisStore({ redis, prefix: "" }),
      () => redisStore({ redis, prefix: "app{1}:" }),
      () => redisStore({ redis, indexes: "userId" as never }),
      () => redisStore({ redis, indexes: ["user:id"] }),
      () => redisStore({ redis, indexes: ["userId", "userId"] }),
      () => redisStore({ redis, indexes: [""] }),
    ];
    for (const make of bad) {
      expect(make).toThrow(SessionConfigError);
      expect(() => make()).toThrow(expect.objectContaining({ code: "CONFIG" }));
    }
  });

  it("find and deleteWhere on a field not in `indexes` throw SESSION_USAGE without touching Redis", async () => {
    const store = redisStore({ redis, indexes: ["userId"] });
    await expect(store.find({ theme: "dark" }, t0)).rejects.toMatchObject({ code: "SESSION_USAGE" });
    await expect(store.deleteWhere({ userId: "u1", theme: "dark" })).rejects.toBeInstanceOf(SessionUsageError);
    await expect(store.deleteWhere({})).rejects.toBeInstanceOf(SessionUsageError);
    expect(redis.status).toBe("wait"); // never connected
  });
});

describe.skipIf(!redisUrl)("redisStore on Redis", () => {
  const prefix = `tessera-test:${randomUUID()}:`;
  let redis: Redis;
  let store: ReturnType<typeof redisStore>;
  const sKey = (id: string) => `${prefix}s:{${id}}`;
  const iKey = (value: string) => `${prefix}i:userId:${value}`;

  beforeAll(() => {
    redis = new Redis(redisUrl as string);
    store = redisStore({ redis, prefix, indexes: ["userId"] });
  });
  afterAll(async () => {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
    }
    await redis.quit();
  });

  it("R45: session and index keys carry the prefix, and an app key named like a session does not reach it", async () => {
    const r = record({ userId: { json: "u1" } });
    await store.create(r);
    expect(await redis.exists(sKey(r.id), iKey("u1"))).toBe(2);
    await redis.set(r.id, "app value");
    await redis.set(`s:{${r.id}}`, "app value");
    expect((await store.get(r.id, t0))?.data).toEqual({ userId: { json: "u1" } });
    await redis.del(r.id, `s:{${r.id}}`);

    const plain = redisStore({ redis });
    const other = record();
    await plain.create(other);
    expect(await redis.exists(`tessera:s:{${other.id}}`)).toBe(1);
    await plain.delete(other.id);
    expect(await redis.exists(`tessera:s:{${other.id}}`)).toBe(0);
  });

  it("R46: the TTL is the remaining life by the injected clock, moved by patch, touch and replace", async () => {
    const r = record({}, { expiresAt: at(3600) });
    await store.create(r);
    expectTtl(await redis.pttl(sKey(r.id)), HOUR); // expiresAt - updatedAt, not expiresAt - Redis's now
    await store.patch(r.id, patchOf({ a: { json: 1 } }, [], at(60 + 7200), at(60)), at(60));
    expectTtl(await redis.pttl(sKey(r.id)), 2 * HOUR);
    expect(await store.touch(r.id, at(120 + 600), at(120))).toBe(true);
    expectTtl(await redis.pttl(sKey(r.id)), 600_000);
    expect(await store.replace({ ...r, expiresAt: at(180 + 5 * 3600) }, at(180))).toBe(3);
    expectTtl(await redis.pttl(sKey(r.id)), 5 * HOUR);
  });

  it("R46: a non-positive remaining life deletes the key (create writes nothing)", async () => {
    const dead = record({}, { expiresAt: t0 });
    await store.create(dead);
    expect(await redis.exists(sKey(dead.id))).toBe(0);

    const r = record({ userId: { json: "ttl-user" } });
    await store.create(r);
    expect(await store.patch(r.id, patchOf({ a: { json: 1 } }, [], at(60), at(60)), at(60))).toBe(2);
    expect(await redis.exists(sKey(r.id))).toBe(0);
    expect(await redis.sismember(iKey("ttl-user"), r.id)).toBe(0);

    const s = record();
    await store.create(s);
    expect(await store.touch(s.id, at(30), at(60))).toBe(true);
    expect(await redis.exists(sKey(s.id))).toBe(0);
  });

  it("get returns a live record as created, and never an expired one (deleted lazily, unindexed)", async () => {
    const r = record({ userId: { json: "lazy" }, cart: { json: [1], meta: { v: 1 } as never, exp: 5 } });
    await store.create(r);
    expect(await store.get(r.id, at(3599))).toEqual(sized(r));
    expect(await store.get(r.id, at(3600))).toBeNull();
    expect(await redis.exists(sKey(r.id))).toBe(0);
    expect(await redis.sismember(iKey("lazy"), r.id)).toBe(0);
    expect(await store.get(hashToken(createToken()), t0)).toBeNull();
  });

  it("R43/B12: a record whose expiry does not parse is never returned: get throws SessionCorruptError, and writes refuse it", async () => {
    const r = record({ a: { json: 1 } });
    await store.create(r);
    await redis.hset(sKey(r.id), "exp", "soon");
    await expect(store.get(r.id, t0)).rejects.toBeInstanceOf(SessionCorruptError);
    expect(await store.patch(r.id, patchOf({ a: { json: 2 } }), at(60))).toBeNull();
    expect(await store.touch(r.id, at(7200), at(60))).toBe(false);
    // The manager deletes what get reported corrupt.
    await store.delete(r.id);
    expect(await redis.exists(sKey(r.id))).toBe(0);
  });

  it("create never overwrites an existing session", async () => {
    const r = record({ a: { json: 1 } });
    await store.create(r);
    await expect(store.create({ ...r, data: { a: { json: 2 } } })).rejects.toBeInstanceOf(SessionStoreError);
    expect((await store.get(r.id, t0))?.data).toEqual({ a: { json: 1 } });
  });

  it("patch sets and deletes keys, moves the metadata and returns the next rev; touch moves only the expiry", async () => {
    const r = record({ a: { json: 1 }, b: { json: 2 } });
    await store.create(r);
    expect(await store.patch(r.id, patchOf({ c: { json: 3 } }, ["b"]), at(60))).toBe(2);
    expect(await store.touch(r.id, at(9000), at(90))).toBe(true);
    expect(await store.get(r.id, at(90))).toEqual(
      sized({
        ...r,
        data: { a: { json: 1 }, c: { json: 3 } },
        expiresAt: at(9000),
        updatedAt: at(60),
        schemaVersion: 2,
        rev: 2,
      }),
    );
  });

  it("R46: a patch that keeps the expiry leaves the key's TTL as set (it ends there already); one that moves it re-arms it", async () => {
    const r = record({ a: { json: 1 } }); // expires at(3600), created at t0: TTL 3600 s
    await store.create(r);
    expect(await store.patch(r.id, patchOf({ a: { json: 2 } }, [], at(3600), at(600)), at(600))).toBe(2);
    // Re-armed from at(600) it would be 3000 s; untouched it is still ~3600 s.
    expect(await redis.pttl(sKey(r.id))).toBeGreaterThan(3_500_000);
    expect(await store.patch(r.id, patchOf({ a: { json: 3 } }, [], at(7200), at(600)), at(600))).toBe(3);
    const ttl = await redis.pttl(sKey(r.id));
    expect(ttl).toBeGreaterThan(6_500_000);
    expect(ttl).toBeLessThanOrEqual(6_600_000);
  });

  it("a patch of 2,500 keys set and 2,500 deleted on a 3,000-key session applies whole (scripts send fields in slices)", async () => {
    const data: StoredData = {};
    for (let i = 0; i < 3000; i++) data[`k${i}`] = { json: i };
    const r = record(data);
    await store.create(r);
    const set: StoredData = {};
    for (let i = 0; i < 2500; i++) set[`n${i}`] = { json: -i };
    const deleted = Array.from({ length: 2500 }, (_, i) => `k${i}`);
    expect(await store.patch(r.id, patchOf(set, deleted), at(60))).toBe(2);
    const got = await store.get(r.id, at(60));
    expect(Object.keys(got?.data ?? {})).toHaveLength(3000);
    expect(got?.data.k2999).toEqual({ json: 2999 });
    expect(got?.data.n2499).toEqual({ json: -2499 });
    expect(got?.data.k0).toBeUndefined();
    expect(got?.rev).toBe(2);
    expect(got?.expiresAt).toEqual(at(7200));
  });

  it("replace rewrites the whole record with rev = old rev + 1", async () => {
    const r = record({ a: { json: 1 }, b: { json: 2 } }, { rev: 7 });
    await store.create(r);
    const next = { ...r, data: { c: { json: 3 } }, updatedAt: at(60), rev: 1 };
    expect(await store.replace(next, at(60))).toBe(8);
    expect(await store.get(r.id, at(60))).toEqual(sized({ ...next, rev: 8 }));
  });

  it("R53: concurrent patches of different keys all survive", async () => {
    const r = record({ a: { json: 0 } });
    await store.create(r);
    const revs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.patch(r.id, patchOf({ [`k${i}`]: { json: i } }), at(60))),
    );
    expect([...revs].sort((x, y) => (x as number) - (y as number))).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    const got = await store.get(r.id, at(60));
    for (let i = 0; i < 20; i++) expect(got?.data[`k${i}`]).toEqual({ json: i });
    expect(got?.data.a).toEqual({ json: 0 });
  });

  it("R51: patch, replace, touch and rotate of a deleted session write nothing and return null/false", async () => {
    const r = record({ a: { json: 1 } });
    await store.create(r);
    await store.delete(r.id);
    const next = record();
    expect(await store.patch(r.id, patchOf({ a: { json: 2 } }), at(60))).toBeNull();
    expect(await store.replace(r, at(60))).toBeNull();
    expect(await store.touch(r.id, at(9000), at(60))).toBe(false);
    expect(await store.rotate(r.id, next, null, at(60))).toBe(false);
    expect(await redis.exists(sKey(r.id), sKey(next.id))).toBe(0);
  });

  it("R51: writes to a record expired at `now` (still in Redis) change nothing", async () => {
    const r = record({ a: { json: 1 } });
    await store.create(r);
    const before = await redis.hgetall(sKey(r.id));
    const next = record();
    expect(await store.patch(r.id, patchOf({ a: { json: 2 } }), at(3600))).toBeNull();
    expect(await store.replace(r, at(3601))).toBeNull();
    expect(await store.touch(r.id, at(9000), at(3600))).toBe(false);
    expect(await store.rotate(r.id, next, at(3700), at(3600))).toBe(false);
    expect(await redis.hgetall(sKey(r.id))).toEqual(before);
    expect(await redis.exists(sKey(next.id))).toBe(0);
  });

  it("rotate without grace deletes the old record and creates the new one", async () => {
    const old = record({ userId: { json: "rot" }, cart: { json: [1] } });
    await store.create(old);
    const next = record({ userId: { json: "rot" }, cart: { json: [1] } }, { updatedAt: at(60) });
    expect(await store.rotate(old.id, next, null, at(60))).toBe(true);
    expect(await redis.exists(sKey(old.id))).toBe(0);
    expect(await store.get(next.id, at(60))).toEqual(sized(next));
    expect(await redis.smembers(iKey("rot"))).toEqual([next.id]);
  });

  it("rotate with grace leaves a data-less shadow pointing at the new id until graceUntil; writes to it are refused", async () => {
    const old = record({ userId: { json: "grace" }, cart: { json: [1] } });
    await store.create(old);
    const next = record({ userId: { json: "grace" } });
    expect(await store.rotate(old.id, next, at(70), at(60))).toBe(true);
    const shadow = await store.get(old.id, at(60));
    expect(shadow).toMatchObject({ data: {}, successorId: next.id, expiresAt: at(70), rev: 2 });
    expectTtl(await redis.pttl(sKey(old.id)), 10_000);
    expect(await redis.smembers(iKey("grace"))).toEqual([next.id]);

    const before = await redis.hgetall(sKey(old.id));
    expect(await store.patch(old.id, patchOf({ a: { json: 1 } }), at(61))).toBeNull();
    expect(await store.replace({ ...old, updatedAt: at(61) }, at(61))).toBeNull();
    expect(await store.touch(old.id, at(9000), at(61))).toBe(false);
    expect(await store.rotate(old.id, record(), null, at(61))).toBe(false);
    expect(await redis.hgetall(sKey(old.id))).toEqual(before);
    expect(await store.find({ userId: "grace" }, at(61))).toEqual([sized(next)]);
  });

  it("index sets follow a changed userId, and outlive their members", async () => {
    const r = record({ userId: { json: "i1" } });
    await store.create(r);
    expect(await redis.smembers(iKey("i1"))).toEqual([r.id]);
    expect(await redis.pttl(iKey("i1"))).toBeGreaterThanOrEqual(await redis.pttl(sKey(r.id)));

    await store.patch(r.id, patchOf({ userId: { json: "i2" } }), at(60));
    expect(await redis.exists(iKey("i1"))).toBe(0);
    expect(await redis.smembers(iKey("i2"))).toEqual([r.id]);

    // A touch that moves the expiry days ahead extends the set with it.
    await store.touch(r.id, at(5 * 86400), at(90));
    expect(await redis.pttl(iKey("i2"))).toBeGreaterThanOrEqual(await redis.pttl(sKey(r.id)));

    await store.replace({ ...r, data: { userId: { json: "i3" } } }, at(120));
    expect(await redis.smembers(iKey("i3"))).toEqual([r.id]);
    await store.patch(r.id, patchOf({}, ["userId"]), at(150));
    expect(await redis.exists(iKey("i2"), iKey("i3"))).toBe(0);

    const s = record({ userId: { json: "i4" } });
    await store.create(s);
    await store.delete(s.id);
    expect(await redis.exists(iKey("i4"))).toBe(0);
  });

  it("find lists live, matching sessions newest first and removes gone and expired members from the set", async () => {
    const early = record({ userId: { json: "f1" } }, { expiresAt: at(3600) });
    const late = record({ userId: { json: "f1" } }, { expiresAt: at(3 * 3600), updatedAt: at(10) });
    const later = record({ userId: { json: "f1" } }, { expiresAt: at(3 * 3600), updatedAt: at(20) });
    const vanished = record({ userId: { json: "f1" } });
    for (const r of [early, late, later, vanished]) await store.create(r);
    await redis.del(sKey(vanished.id)); // as when Redis expires it at its TTL
    expect(await store.find({ userId: "f1" }, at(60))).toEqual([sized(later), sized(late), sized(early)]);
    expect(await store.find({ userId: "f1" }, at(2 * 3600))).toEqual([sized(later), sized(late)]);
    expect((await redis.smembers(iKey("f1"))).sort()).toEqual([late.id, later.id].sort());
    expect(await store.find({ userId: "f1" }, at(2 * 3600), { limit: 1 })).toEqual([sized(later)]);
    expect(await store.find({ userId: "nobody" }, t0)).toEqual([]);
  });

  it("find and deleteWhere match every where-field by value and type", async () => {
    const multi = redisStore({ redis, prefix, indexes: ["userId", "tenant"] });
    const a = record({ userId: { json: "m1" }, tenant: { json: 1 } });
    const b = record({ userId: { json: "m1" }, tenant: { json: "1" } });
    await multi.create(a);
    await multi.create(b);
    expect(await multi.find({ userId: "m1", tenant: 1 }, t0)).toEqual([sized(a)]);
    expect(await multi.find({ tenant: "1" }, t0)).toEqual([sized(b)]);
    expect(await multi.deleteWhere({ tenant: 1, userId: "m1" })).toEqual([a.id]);
    expect(await multi.find({ userId: "m1" }, t0)).toEqual([sized(b)]);
  });

  it("R25: deleteWhere returns the deleted ids, keeps exceptId and a session whose userId changed meanwhile", async () => {
    const keep = record({ userId: { json: "d1" } });
    const gone = record({ userId: { json: "d1" } });
    const moved = record({ userId: { json: "d1" } });
    for (const r of [keep, gone, moved]) await store.create(r);
    await store.patch(moved.id, patchOf({ userId: { json: "d2" } }), at(60));
    await redis.sadd(iKey("d1"), moved.id); // a stale member, as a failed index update leaves it
    expect(await store.deleteWhere({ userId: "d1" }, { exceptId: keep.id })).toEqual([gone.id]);
    expect(await redis.exists(sKey(gone.id))).toBe(0);
    expect(await store.get(moved.id, at(60))).not.toBeNull();
    expect(await store.get(keep.id, at(60))).not.toBeNull();
    expect(await redis.sismember(iKey("d1"), gone.id)).toBe(0);
    expect(await store.deleteWhere({ userId: "d1" })).toEqual([keep.id]);
  });

  it("purgeExpired returns 0 and deletes nothing: Redis expires keys itself", async () => {
    const r = record();
    await store.create(r);
    expect(await store.purgeExpired(at(10 * 3600), 1000)).toBe(0);
    expect(await redis.exists(sKey(r.id))).toBe(1);
  });

  // B9: Σ of the d: fields' byte lengths, which the patch script keeps in `bytes`.
  const storedBytes = async (id: string) => {
    const hash = await redis.hgetallBuffer(sKey(id));
    let bytes = 0;
    for (const [field, value] of Object.entries(hash)) if (field.startsWith("d:")) bytes += value.length;
    return bytes;
  };
  const kb = (i: number) => ({ json: `${i}:`.padEnd(1000, "é") });
  const limited = (set: StoredData, deleted: string[] = [], maxBytes = 10_000) => ({ ...patchOf(set, deleted), maxBytes });

  it("B9: 50 concurrent patches of different keys never grow a record past maxBytes; each is applied or refused whole", async () => {
    const r = record({ userId: { json: "b9" } });
    await store.create(r);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.patch(r.id, limited({ [`k${i}`]: kb(i) }), at(60))),
    );
    const applied = results.flatMap((result, i) => (result.status === "fulfilled" ? [i] : []));
    for (const result of results) {
      if (result.status === "rejected") {
        expect(result.reason).toBeInstanceOf(SessionTooLargeError);
        expect((result.reason as SessionTooLargeError).bytes).toBeGreaterThan(10_000);
        expect((result.reason as SessionTooLargeError).maxBytes).toBe(10_000);
      }
    }
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.length).toBeLessThan(50);
    const bytes = await storedBytes(r.id);
    expect(bytes).toBeLessThanOrEqual(10_000);
    expect(Number(await redis.hget(sKey(r.id), "bytes"))).toBe(bytes);
    const got = await store.get(r.id, at(60));
    expect(Object.keys(got?.data ?? {}).sort()).toEqual(["userId", ...applied.map((i) => `k${i}`)].sort());
    expect(got?.dataBytes).toBe(bytes);
    // A write replacing an existing key with a smaller value still goes through.
    expect(await store.patch(r.id, limited({ [`k${applied[0]}`]: { json: "small" } }), at(60))).toBe(applied.length + 2);
    expect(Number(await redis.hget(sKey(r.id), "bytes"))).toBe(await storedBytes(r.id));
  });

  it("B9: too large is told apart from gone: a patch of a deleted record returns null, whatever its size", async () => {
    const r = record({});
    await store.create(r);
    await expect(store.patch(r.id, limited({ big: kb(0) }, [], 500), at(60))).rejects.toBeInstanceOf(SessionTooLargeError);
    expect(await redis.hget(sKey(r.id), "rev")).toBe("1"); // nothing written
    await store.delete(r.id);
    expect(await store.patch(r.id, limited({ big: kb(0) }, [], 500), at(60))).toBeNull();
    expect(await redis.exists(sKey(r.id))).toBe(0);
  });

  it("B9: a record without a valid size (written before, or tampered with) is measured in full, and the size repaired", async () => {
    for (const broken of [null, "abc", "-5", "1.5", "99999999"]) {
      const r = record({ a: kb(1), b: kb(2) });
      await store.create(r);
      if (broken === null) await redis.hdel(sKey(r.id), "bytes");
      else await redis.hset(sKey(r.id), "bytes", broken);
      const before = await storedBytes(r.id);
      await expect(store.patch(r.id, limited({ c: kb(3) }, [], before + 100), at(60))).rejects.toBeInstanceOf(
        SessionTooLargeError,
      );
      expect(await store.patch(r.id, limited({ c: kb(3) }, ["a"], before + 100), at(60))).toBe(2);
      expect(Number(await redis.hget(sKey(r.id), "bytes"))).toBe(await storedBytes(r.id));
    }
  });

  it("B9: create, replace and rotation's shadow keep the size; a patch that does not grow a record over the limit goes through", async () => {
    const r = record({ a: kb(1), b: kb(2), c: kb(3) });
    await store.create(r);
    expect(Number(await redis.hget(sKey(r.id), "bytes"))).toBe(await storedBytes(r.id));
    expect(await store.replace({ ...r, data: { a: kb(4), b: kb(5) } }, at(10))).toBe(2);
    expect(Number(await redis.hget(sKey(r.id), "bytes"))).toBe(await storedBytes(r.id));
    // Over a lowered limit: growing is refused, deleting and shrinking are not, so the record can recover.
    await expect(store.patch(r.id, limited({ c: kb(6) }, [], 1000), at(20))).rejects.toBeInstanceOf(SessionTooLargeError);
    expect(await store.patch(r.id, limited({ a: { json: "x" } }, [], 1000), at(20))).toBe(3);
    expect(await store.patch(r.id, limited({}, ["b"], 1000), at(20))).toBe(4);
    expect(await storedBytes(r.id)).toBeLessThanOrEqual(1000);
    const next = record({ a: kb(7) });
    expect(await store.rotate(r.id, next, at(90), at(30))).toBe(true);
    expect(await redis.hget(sKey(r.id), "bytes")).toBe("0");
    expect(Number(await redis.hget(sKey(next.id), "bytes"))).toBe(await storedBytes(next.id));
  });

  it("B9/B12 attack: NUL, lone surrogates, invalid UTF-8 and a 10 MB entry written into a hash never make a store error", async () => {
    const schema = z.object({ userId: z.string().optional(), note: z.string().optional() });
    const events: string[] = [];
    const sessions = defineSession({
      schema,
      store: redisStore({ redis, prefix }),
      cookie: { secure: true, name: "sid" },
      now: () => t0.getTime(),
      maxBytes: 10_000,
      onEvent: (event) => events.push(event.type),
    });
    const plant = async (fields: Record<string, string | Buffer>) => {
      const token = createToken();
      const r = record();
      const id = hashToken(token);
      await store.create({ ...r, id });
      await redis.hset(sKey(id), fields);
      events.length = 0;
      return { cookie: `sid=${token}`, id };
    };
    // Held and served exactly as stored: what set() refuses (B3) can still be read if written by hand.
    for (const [raw, value] of [
      ['{"json":"a\\u0000b"}', "a\u0000b"],
      ['{"json":"a\\ud800b"}', "a\ud800b"],
    ] as const) {
      const { cookie } = await plant({ "d:note": raw });
      const s = await sessions.load(cookie);
      expect(s.get("note")).toBe(value);
      s.set("userId", "u1");
      await s.commit();
      expect((await sessions.load(cookie)).get("note")).toBe(value);
    }
    // A NUL or a lone surrogate in a key makes a key the schema does not know: dropped as invalid.
    for (const field of ["d:user\u0000Id", "d:no\ud800te"]) {
      const { cookie } = await plant({ [field]: '{"json":"a"}' });
      const s = await sessions.load(cookie);
      expect(s.isNew).toBe(false);
      expect(s.all()).toEqual({});
      expect(events).toContain("invalid");
    }
    // Invalid UTF-8 inside a JSON string reads as U+FFFD.
    const bad = await plant({ "d:note": Buffer.from([...Buffer.from('{"json":"a'), 0xff, ...Buffer.from('"}')]) });
    expect((await sessions.load(bad.cookie)).get("note")).toBe("a\ufffd");
    // 10 MB in one entry, far past maxBytes: it loads; growing is refused, removing it is not.
    const big = await plant({ "d:note": JSON.stringify({ json: "x".repeat(10 * 1024 * 1024) }) });
    const s = await sessions.load(big.cookie);
    expect(s.get("note")).toHaveLength(10 * 1024 * 1024);
    expect(() => s.set("userId", "u1")).toThrow(SessionTooLargeError);
    // A patch sent past the core (a request that loaded it small) is refused by the store itself.
    await expect(store.patch(big.id, limited({ userId: { json: "u1" } }), at(60))).rejects.toBeInstanceOf(SessionTooLargeError);
    s.delete("note");
    s.set("userId", "u1");
    await s.commit();
    expect(await storedBytes(big.id)).toBeLessThan(100);
    expect(Number(await redis.hget(sKey(big.id), "bytes"))).toBe(await storedBytes(big.id));
  });

  it("B12: a non-JSON entry or unparsable metadata is SessionCorruptError from get; find skips it", async () => {
    const a = record({ userId: { json: "b12" } });
    const b = record({ userId: { json: "b12" } });
    await store.create(a);
    await store.create(b);
    await redis.hset(sKey(a.id), "d:userId", "{not json");
    await expect(store.get(a.id, t0)).rejects.toBeInstanceOf(SessionCorruptError);
    expect((await store.find({ userId: "b12" }, t0)).map((found) => found.id)).toEqual([b.id]);
    // A JSON entry that is not an entry is the core's (onInvalid), not corruption.
    await redis.hset(sKey(b.id), "d:other", "5");
    expect((await store.get(b.id, t0))?.data.other).toBe(5);
  });

  it("B12: a key of another type (string, list, set, zset, stream) at a session key is corrupt: a fresh session, the key deleted, never SessionStoreError", async () => {
    const events: SessionEvent[] = [];
    const sessions = defineSession({
      schema: z.object({ userId: z.string().optional() }),
      store: redisStore({ redis, prefix, indexes: ["userId"] }),
      cookie: { secure: true, name: "sid" },
      now: () => t0.getTime(),
      onEvent: (event) => events.push(event),
    });
    for (const [kind, plant] of Object.entries(wrongTypes(redis))) {
      const token = createToken();
      const id = hashToken(token);
      await store.create(record({ userId: { json: "wrong-type" } }, { id }));
      await plant(sKey(id));
      events.length = 0;
      const s = await sessions.load(`sid=${token}`).catch((error: unknown) => error);
      expect(s, kind).not.toBeInstanceOf(Error);
      const session = s as Awaited<ReturnType<typeof sessions.load>>;
      expect(session.isNew, kind).toBe(true);
      expect(
        events.map((e) => e.type),
        kind,
      ).toEqual(["corrupt"]);
      expect(await redis.exists(sKey(id)), kind).toBe(0);
      // The same cookie again: the key is gone, so it is an unknown token, not corruption again.
      events.length = 0;
      expect((await sessions.load(`sid=${token}`)).isNew, kind).toBe(true);
      expect(
        events.map((e) => e.type),
        kind,
      ).toEqual(["unknown"]);
      // What the browser sends next (the fresh session's own cookie) loads with no event.
      session.set("userId", "u1");
      const setCookie = await session.commit();
      events.length = 0;
      const next = await sessions.load(cookieHeader(setCookie));
      expect(next.get("userId"), kind).toBe("u1");
      expect(events, kind).toEqual([]);
    }
  });

  it("B12: writes, find and deleteWhere meeting a key of another type treat it as no live session: null/false, never an error", async () => {
    for (const [kind, plant] of Object.entries(wrongTypes(redis))) {
      const r = record({ userId: { json: "wrong-type-writes" } });
      const other = record({ userId: { json: "wrong-type-writes" } });
      await store.create(r);
      await store.create(other);
      await plant(sKey(r.id));
      await expect(store.get(r.id, t0), kind).rejects.toBeInstanceOf(SessionCorruptError);
      expect(await store.patch(r.id, patchOf({ a: { json: 1 } }), at(30)), kind).toBeNull();
      expect(await store.replace({ ...r, data: { a: { json: 1 } } }, at(30)), kind).toBeNull();
      expect(await store.touch(r.id, at(7200), at(30)), kind).toBe(false);
      expect(await store.rotate(r.id, record(), null, at(30)), kind).toBe(false);
      expect(await redis.exists(sKey(r.id)), kind).toBe(1); // left for get to report, and delete to remove
      // Listed sessions skip it (its own get reports it); a revoke passes over it.
      expect(
        (await store.find({ userId: "wrong-type-writes" }, t0)).map((found) => found.id),
        kind,
      ).toEqual([other.id]);
      expect(await store.deleteWhere({ userId: "wrong-type-writes" }, { exceptId: other.id }), kind).toEqual([]);
      await store.delete(r.id);
      expect(await redis.exists(sKey(r.id)), kind).toBe(0);
      await store.delete(other.id);
    }
    // Through the guard the core uses: a data problem, never an outage.
    const guarded = guardStore(store, 1000);
    const r = record();
    await store.create(r);
    await redis.del(sKey(r.id));
    await redis.set(sKey(r.id), "x");
    const error = await guarded.get(r.id, t0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionCorruptError);
    expect(error).not.toBeInstanceOf(SessionStoreError);
    await guarded.delete(r.id);
    expect(await redis.exists(sKey(r.id))).toBe(0);
  });
});

describe.skipIf(!canStartRedis)("redisStore round trips (MONITOR on a private redis-server)", () => {
  let monitored: Awaited<ReturnType<typeof monitoredRedis>>;
  let redis: Redis;
  let watcher: typeof monitored.watcher;

  beforeAll(async () => {
    monitored = await monitoredRedis(26000);
    ({ redis, watcher } = monitored);
  });
  afterAll(async () => {
    await monitored?.stop();
  });

  it("get, create, patch, touch, replace and delete are one command each when no indexed field changes", async () => {
    const store = redisStore({ redis, indexes: ["userId"] });
    const r = record({ userId: { json: "u1" } });
    await redis.ping();
    await store.create(record()); // loads the create script on this connection
    await watcher.take();
    const names = async () => (await watcher.take()).map((args) => args[0]?.toLowerCase());

    await store.create(r);
    expect(await names()).toEqual(["evalsha", "eval"]); // the session, then its index set (login)
    await store.get(r.id, t0);
    expect(await names()).toHaveLength(1); // the read script, sent whole on its first use here
    await store.get(r.id, t0);
    expect(await names()).toEqual(["evalsha"]);
    await store.patch(r.id, patchOf({ cart: { json: [1] } }), at(60));
    expect(await names()).toHaveLength(1);
    await store.patch(r.id, patchOf({ cart: { json: [2] } }), at(70));
    expect(await names()).toEqual(["evalsha"]);
    await store.touch(r.id, at(1800), at(80));
    expect(await names()).toHaveLength(1);
    await store.replace({ ...r, updatedAt: at(90) }, at(90));
    expect(await names()).toHaveLength(1);
    await store.patch(r.id, patchOf({ userId: { json: "u2" } }), at(100));
    expect((await names()).sort()).toEqual(["evalsha", "evalsha", "srem"]); // script, then SADD u2 + SREM u1 together
    const plain = record();
    await store.create(plain);
    await watcher.take();
    await store.delete(plain.id);
    expect(await names()).toHaveLength(1);
  });
});

describe.skipIf(!canStartRedis)("R48/R56: redisStore when Redis is down or stops answering", () => {
  let server: PrivateRedis;
  let redis: Redis;

  beforeAll(async () => {
    server = await startRedis(await freePort(26000));
    // The client settings the JSDoc recommends: fail fast instead of queueing while disconnected.
    redis = new Redis({
      host: "127.0.0.1",
      port: server.port,
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: 500,
      lazyConnect: true,
    });
    redis.on("error", () => {});
    await redis.connect(); // without the offline queue, commands sent before the connection is up fail
  });
  afterAll(async () => {
    redis?.disconnect();
    try {
      process.kill(server.pid, "SIGCONT");
    } catch {}
    await server?.stop();
  });

  it("R48/R56: a call to a stopped (SIGSTOP) server rejects with SessionStoreError within the guard's timeout", async () => {
    const store = guardStore(redisStore({ redis }), 300);
    const r = record({ a: { json: 1 } });
    await store.create(r);
    process.kill(server.pid, "SIGSTOP"); // alive but silent: only a timeout can end the wait
    const started = Date.now();
    await expect(store.patch(r.id, patchOf({ a: { json: 2 } }), at(60))).rejects.toBeInstanceOf(SessionStoreError);
    expect(Date.now() - started).toBeLessThan(1000);
    process.kill(server.pid, "SIGCONT");
  });

  it("R48/R56: a call to a killed server rejects with SessionStoreError within ~1 s, and no 'error' goes unhandled", async () => {
    const store = guardStore(redisStore({ redis }), 300);
    await server.kill();
    const started = Date.now();
    await expect(store.get(hashToken(createToken()), t0)).rejects.toSatisfy(
      (e) => e instanceof SessionStoreError && e.code === "STORE_UNAVAILABLE",
    );
    await expect(store.create(record())).rejects.toBeInstanceOf(SessionStoreError);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
