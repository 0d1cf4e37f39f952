/**
 * Issue 14 attack on redisStore's one-string read (`hashReader`: HGETALL joined by NUL in a Lua
 * script, the plain array when a field or value holds a NUL). Hashes edited by hand on the shared
 * Redis, as an application sharing the prefix or an attacker with Redis access could leave them:
 * never a store outage, never a misread field; corrupt data is R43 (a fresh session, the key
 * deleted).
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisCache, redisStore } from "../../src/stores/redis/index.js";
import { hashToken } from "../../src/token.js";
import { deleteKeys } from "../helpers/redis-keys.js";
import { redisUrl } from "../helpers/redis-server.js";
import { wrongTypes } from "../helpers/redis-wrong-types.js";

const schema = z.object({ userId: z.string().optional(), role: z.string().optional() });

describe.skipIf(!redisUrl)("issue 14 redis read: hand-edited session hashes", () => {
  let redis: Redis;
  const prefix = `issue14-rd-${randomUUID().slice(0, 8)}:`;
  beforeAll(() => {
    redis = new Redis(redisUrl as string);
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  function rig() {
    const events: SessionEvent["type"][] = [];
    const sessions = defineSession({
      schema,
      store: redisStore({ redis, prefix }),
      cookie: { secure: false, name: "sid" },
      onEvent: (event) => events.push(event.type),
    });
    return { sessions, events };
  }

  /** A stored session of u1 (role "user"): its token and its key. */
  async function stored(r: ReturnType<typeof rig>) {
    const s = await r.sessions.load(null);
    s.set("userId", "u1");
    s.set("role", "user");
    const cookie = (await s.commit())[0] as string;
    const token = cookie.split(";")[0]?.split("=")[1] as string;
    return { token, key: `${prefix}s:{${hashToken(token)}}` };
  }

  const entry = (value: string) => JSON.stringify({ json: value });

  it("a NUL inside a field name or value that is not JSON-corrupting: read the array way, nothing misread", async () => {
    const r = rig();
    const { token, key } = await stored(r);
    // A field whose name, split on NUL, would realign the pairs to overwrite role and rev.
    await redis.hset(key, `d:x\u0000d:role`, entry("admin"));
    await redis.hset(key, "d:y", `${entry("a")}\u0000`.replace(/}$/, ""));
    const s = await r.sessions.get(token).catch((e: Error) => e);
    // The entry with a raw NUL in its JSON is corrupt data: R43, never an outage.
    if (s instanceof Error) throw s;
    expect(s).toBeNull();
    expect(await redis.exists(key)).toBe(0);
    expect(r.events).toContain("corrupt");
  });

  it("a NUL only in a field name (valid JSON values): the session reads as stored, the smuggled role is not read", async () => {
    const r = rig();
    const { token, key } = await stored(r);
    await redis.hset(key, `d:x\u0000d:role`, entry("admin"));
    await redis.hset(key, `d:z\u0000rev\u00009`, entry("b"));
    const s = await r.sessions.get(token);
    expect(s?.get("role")).toBe("user");
    expect(s?.get("userId")).toBe("u1");
  });

  it("empty field names and values, and an empty d: key: no outage", async () => {
    const r = rig();
    const { token, key } = await stored(r);
    await redis.hset(key, "", "", "d:", entry("e"));
    const s = await r.sessions.get(token);
    expect(s?.get("userId")).toBe("u1");
  });

  it("invalid UTF-8 bytes right before a separator (an unfinished multi-byte sequence) do not swallow the next field", async () => {
    const r = rig();
    const { token, key } = await stored(r);
    // A JSON string holding 0xE2 0x82 (a 3-byte sequence cut short), then more fields after it.
    const bad = Buffer.concat([Buffer.from('{"json":"'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]);
    const badName = Buffer.concat([Buffer.from("d:"), Buffer.from([0xf0, 0x9f])]);
    await redis.hset(key, "d:aaa", bad, badName, entry("c"), Buffer.from([0xff, 0xfe]), Buffer.from([0xc3]));
    const s = await r.sessions.get(token);
    expect(s?.get("userId")).toBe("u1");
    expect(s?.get("role")).toBe("user");
  });

  it("a 10 MB field value and a hash of 10,000 fields: read, no outage", async () => {
    const r = rig();
    const big = await stored(r);
    await redis.hset(big.key, "d:huge", entry("h".repeat(10 * 1024 * 1024)));
    const a = await r.sessions.get(big.token);
    expect(a?.get("userId")).toBe("u1");
    const many = await stored(r);
    const fields: string[] = [];
    for (let i = 0; i < 10_000; i++) fields.push(`d:k${i}`, entry(String(i)));
    await redis.hset(many.key, ...fields);
    const b = await r.sessions.get(many.token);
    expect(b?.get("userId")).toBe("u1");
    // A write to it still works (the session is usable, not wedged).
    b?.set("role", "admin");
    await b?.commit();
    expect((await r.sessions.get(many.token))?.get("role")).toBe("admin");
  });

  for (const [label, write] of Object.entries({
    "a metadata field emptied": (key: string) => redis.hset(key, "rev", ""),
    "rev removed": (key: string) => redis.hdel(key, "rev"),
    "exp not a number": (key: string) => redis.hset(key, "exp", "soon"),
    "an entry not JSON": (key: string) => redis.hset(key, "d:userId", "{not json"),
    "an entry holding invalid UTF-8 only": (key: string) => redis.hset(key, "d:userId", Buffer.from([0xff, 0xfe, 0xfd])),
  })) {
    it(`${label}: R43 through load (a fresh session, the key deleted, no error)`, async () => {
      const r = rig();
      const { token, key } = await stored(r);
      await write(key);
      const s = await r.sessions.load(`sid=${token}`);
      expect(s.isNew).toBe(true);
      expect(await redis.exists(key)).toBe(0);
      expect(r.events).toContain("corrupt");
    });
  }

  it("WRONGTYPE keys of every type: R43 through load and get, never an outage", async () => {
    for (const [label, overwrite] of Object.entries(wrongTypes(redis))) {
      const r = rig();
      const { token, key } = await stored(r);
      await overwrite(key);
      const s = await r.sessions.load(`sid=${token}`);
      expect(s.isNew, label).toBe(true);
      expect(await redis.exists(key), label).toBe(0);
    }
  });

  it("redisCache in front of a store: a hand-corrupted cache copy falls back to the store's record", async () => {
    const cachePrefix = `${prefix}cache:`;
    const sessions = defineSession({
      schema,
      store: memoryStore(),
      cache: redisCache({ redis, prefix: cachePrefix }),
      cookie: { secure: false, name: "sid" },
    });
    const s = await sessions.load(null);
    s.set("userId", "u1");
    const token = ((await s.commit())[0] as string).split(";")[0]?.split("=")[1] as string;
    const cacheKey = `${cachePrefix}c:{${hashToken(token)}}`;
    await sessions.get(token);
    for (const corrupt of [
      () => redis.hset(cacheKey, `d:userId\u0000x`, entry("admin"), "d:userId", "{bad"),
      () => redis.set(cacheKey, "string"),
    ]) {
      await corrupt();
      const again = await sessions.load(`sid=${token}`);
      expect(again.get("userId")).toBe("u1");
    }
  });
});
