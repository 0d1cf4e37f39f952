import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredSession } from "../../src/store.js";
import { redisCache } from "../../src/stores/redis/redis-cache.js";
import { redisStore } from "../../src/stores/redis/redis-store.js";
import { createToken, hashToken } from "../../src/token.js";
import { redisUrl } from "../helpers/redis-server.js";

// Many store and cache commands in flight on one client with the app's own: each gets its own
// reply, nothing is lost or reordered.
const t0 = new Date("2026-01-01T12:00:00.000Z");
const record = (n: number): StoredSession => ({
  id: hashToken(createToken()),
  data: { n: { json: n }, note: { json: `session ${n}` } },
  expiresAt: new Date(t0.getTime() + 3_600_000),
  absoluteExpiresAt: null,
  createdAt: t0,
  updatedAt: t0,
  schemaVersion: 1,
  rev: 1,
  successorId: null,
});

describe.skipIf(!redisUrl)("redisStore and redisCache share a client with the app under concurrency", () => {
  const prefix = `tessera_test_batch:${randomUUID().slice(0, 8)}:`;
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(redisUrl as string, { maxRetriesPerRequest: 1 });
    await redis.ping();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("200 concurrent writes and reads of 100 sessions, with the app's own commands between them: every reply is its own", async () => {
    const store = redisStore({ redis, prefix });
    const cache = redisCache({ redis, prefix: `${prefix}cache:` });
    const records = Array.from({ length: 100 }, (_, n) => record(n));
    await Promise.all(records.map((r) => store.create(r)));
    const at = new Date(t0.getTime() + 1000);
    const results = await Promise.all(
      records.flatMap((r, n) => [
        store.patch(
          r.id,
          {
            set: { n: { json: n * 10 } },
            deleted: ["note"],
            expiresAt: r.expiresAt,
            updatedAt: at,
            schemaVersion: 1,
            maxBytes: 65_536,
          },
          at,
        ),
        redis.set(`${prefix}app:${n}`, String(n)),
        cache.put(r, at),
      ]),
    );
    expect(results.filter((_, i) => i % 3 === 0)).toEqual(records.map(() => 2));
    const after = await Promise.all(records.map((r) => store.get(r.id, at)));
    expect(after.map((r) => r?.data)).toEqual(records.map((_, n) => ({ n: { json: n * 10 } })));
    expect(await redis.mget(...records.map((_, n) => `${prefix}app:${n}`))).toEqual(records.map((_, n) => String(n)));
    expect((await Promise.all(records.map((r) => cache.get(r.id)))).map((r) => r?.rev)).toEqual(records.map(() => 1));
  });
});
