import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { SessionCorruptError } from "../../src/errors.js";
import type { StoredSession } from "../../src/store.js";
import { redisStore } from "../../src/stores/redis/redis-store.js";
import { createToken, hashToken } from "../../src/token.js";

// `hashAt` reads HGETALL flat (field, value, …): ioredis keys its reply transformer by the exact
// command name, so `call("HGETALL")` skips the object it builds for `hgetall`. An ioredis that
// built the object anyway must read the same records: this client answers HGETALL as an object.
const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const redis = new Redis(url, { maxRetriesPerRequest: 1 });
const objectReplies = new Proxy(redis, {
  get(target, name, receiver) {
    if (name === "call") {
      return (command: string, ...args: unknown[]) =>
        command.toUpperCase() === "HGETALL"
          ? target.hgetall(args[0] as string)
          : (target.call as (...all: unknown[]) => Promise<unknown>)(command, ...args);
    }
    const value = Reflect.get(target, name, receiver);
    return typeof value === "function" ? value.bind(target) : value;
  },
});
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

describe("redisStore reads a hash reply flat or as an object alike", () => {
  const flat = redisStore({ redis, prefix });
  const object = redisStore({ redis: objectReplies as Redis, prefix });

  it("the same record, metadata and an own __proto__ entry included; null for no key", async () => {
    const r = record();
    await flat.create(r);
    const read = await flat.get(r.id, t0);
    expect(read).toEqual({ ...r, dataBytes: expect.any(Number) });
    expect(Object.hasOwn(read?.data ?? {}, "__proto__")).toBe(true);
    expect(await object.get(r.id, t0)).toEqual(read);
    expect(await flat.get("absent", t0)).toBeNull();
    expect(await object.get("absent", t0)).toBeNull();
  });

  it("an entry that is not JSON is SessionCorruptError either way", async () => {
    const r = record();
    await flat.create(r);
    await redis.hset(`${prefix}s:{${r.id}}`, "d:cart", "{not json");
    await expect(flat.get(r.id, t0)).rejects.toThrow(SessionCorruptError);
    await expect(object.get(r.id, t0)).rejects.toThrow(SessionCorruptError);
  });
});
