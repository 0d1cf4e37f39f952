import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { SessionCorruptError } from "../../src/errors.js";
import type { StoredSession } from "../../src/store.js";
import { redisCache } from "../../src/stores/redis/redis-cache.js";
import { redisStore } from "../../src/stores/redis/redis-store.js";
import { createToken, hashToken } from "../../src/token.js";

// `hashReader` reads a session hash as one string (fields and values joined by NUL, split in one
// pass), and as HGETALL's plain array when a field or value written by hand holds a NUL: both
// must give the same records, and a NUL must never shift a field into a value.
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const prefix = `tessera_test_hash_reply:${randomUUID().slice(0, 8)}:`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

const t0 = new Date("2026-01-01T12:00:00.000Z");
const record = (): StoredSession => ({
  id: hashToken(createToken()),
  // An own "__proto__" entry must stay a key whichever shape the reply has.
  data: JSON.parse(
    '{"cart":{"json":[1,2]},"__proto__":{"json":"p"},"at":{"json":"2026-01-01T00:00:00.000Z","meta":{"values":["Date"],"v":1}}}',
  ),
  expiresAt: new Date(t0.getTime() + 3_600_000),
  absoluteExpiresAt: new Date(t0.getTime() + 7_200_000),
  createdAt: t0,
  updatedAt: t0,
  schemaVersion: 3,
  rev: 1,
  successorId: null,
});

describe("redisStore and redisCache read a session hash in one string", () => {
  const store = redisStore({ redis, prefix });
  const cache = redisCache({ redis, prefix });
  const storeKey = (id: string) => `${prefix}s:{${id}}`;

  it("the same record as written, metadata and an own __proto__ entry included; null for no key", async () => {
    const r = record();
    await store.create(r);
    const read = await store.get(r.id, t0);
    expect(read).toEqual({ ...r, dataBytes: expect.any(Number) });
    expect(Object.hasOwn(read?.data ?? {}, "__proto__")).toBe(true);
    await cache.put(r, t0);
    expect(await cache.get(r.id)).toEqual({ ...r, dataBytes: expect.any(Number) });
    expect(await store.get("absent", t0)).toBeNull();
    expect(await cache.get("absent")).toBeNull();
  });

  it("a field holding a NUL (written by hand) is read whole, not split: the plain-array path", async () => {
    const r = record();
    await store.create(r);
    await redis.hset(storeKey(r.id), "d:a\u0000b", '{"json":"nul in the key"}', "d:plain", '{"json":"after"}');
    const read = await store.get(r.id, t0);
    expect(read?.data["a\u0000b"]).toEqual({ json: "nul in the key" });
    expect(read?.data.plain).toEqual({ json: "after" });
    expect(read?.rev).toBe(1);
    expect(Object.keys(read?.data ?? {})).not.toContain("a");
  });

  it("an empty field name and an empty value survive the join", async () => {
    const r = record();
    await store.create(r);
    // "d:" is the entry of the key "" (a schema may name one); "succ" is already "".
    await redis.hset(storeKey(r.id), "d:", '{"json":""}');
    const read = await store.get(r.id, t0);
    expect(read?.data[""]).toEqual({ json: "" });
    expect(read?.successorId).toBeNull();
  });

  it("an entry that is not JSON is SessionCorruptError; a key of another type too, from the store and the cache", async () => {
    const r = record();
    await store.create(r);
    await redis.hset(storeKey(r.id), "d:cart", "{not json");
    await expect(store.get(r.id, t0)).rejects.toThrow(SessionCorruptError);
    const other = record();
    await redis.set(storeKey(other.id), "a string");
    await expect(store.get(other.id, t0)).rejects.toThrow(SessionCorruptError);
    await redis.rpush(`${prefix}c:{${other.id}}`, "a list");
    await expect(cache.get(other.id)).rejects.toThrow(SessionCorruptError);
  });
});
