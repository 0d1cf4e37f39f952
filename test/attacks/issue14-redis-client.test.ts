/**
 * Issue 14 attack on the Redis store's client use (written against write batching, which was
 * measured slower and removed; what still applies is kept): clients without an offline queue;
 * auto-pipelining clients; the app's MULTI and pipelines in the same tick. A commit either lands
 * or fails with a typed error; nothing hangs and nothing is lost silently. Faults are made on a
 * private redis-server stopped by pid.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, isTesseraError } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { deleteKeys } from "../helpers/redis-keys.js";
import { canStartRedis, freePort, type PrivateRedis, redisUrl, startRedis } from "../helpers/redis-server.js";

const schema = z.object({ userId: z.string().optional(), n: z.number().optional() });

function managerOn(redis: Redis, prefix: string) {
  return defineSession({
    schema,
    store: redisStore({ redis, prefix }),
    cookie: { secure: false, name: "sid" },
    storeTimeout: "2s",
  });
}

const tokenOf = (setCookies: string[]) => (setCookies[0] as string).split(";")[0]?.split("=")[1] as string;

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe.skipIf(!canStartRedis)("issue 14 Redis client under faults (private redis-server)", () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startRedis(await freePort(27_400));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("enableOfflineQueue: false, server down: load and commit fail typed at once (no hang)", async () => {
    const prefix = `wb-${randomUUID().slice(0, 6)}:`;
    const redis = new Redis({ port: server.port, host: "127.0.0.1", enableOfflineQueue: false, retryStrategy: () => 50 });
    redis.on("error", () => {});
    try {
      await new Promise((resolve) => redis.once("ready", resolve));
      const sessions = managerOn(redis, prefix);
      const s = await sessions.load(null);
      s.set("n", 1);
      const token = tokenOf(await s.commit());
      await server.kill();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const load = await settle(sessions.load(`sid=${token}`));
      expect(load.ok).toBe(false);
      if (!load.ok) expect(isTesseraError(load.error) && load.error.code).toBe("STORE_UNAVAILABLE");
      const fresh = await sessions.load(null);
      fresh.set("n", 2);
      const commit = await settle(fresh.commit());
      expect(commit.ok).toBe(false);
      if (!commit.ok) expect(isTesseraError(commit.error) && commit.error.code).toBe("STORE_UNAVAILABLE");
    } finally {
      await server.restart();
      redis.disconnect();
    }
  });
});

describe.skipIf(!redisUrl)("issue 14 Redis store beside the app's own traffic (shared Redis)", () => {
  const prefix = `issue14-wb-${randomUUID().slice(0, 8)}:`;
  let plain: Redis;
  let auto: Redis;
  beforeAll(() => {
    plain = new Redis(redisUrl as string);
    auto = new Redis(redisUrl as string, { enableAutoPipelining: true });
  });
  afterAll(async () => {
    await deleteKeys(plain, `${prefix}*`);
    plain.disconnect();
    auto.disconnect();
  });

  for (const label of ["plain", "enableAutoPipelining"] as const) {
    it(`${label} client: MULTI, pipelines, INCRs and Tessera commits in one tick each get their own replies, in order`, async () => {
      const redis = label === "plain" ? plain : auto;
      const p = `${prefix}${label}:`;
      const sessions = managerOn(redis, p);
      const stored = await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const s = await sessions.load(null);
          s.set("n", i);
          return tokenOf(await s.commit());
        }),
      );
      const loaded = await Promise.all(stored.map((t) => sessions.load(`sid=${t}`)));
      const counter = `${p}counter`;
      const work: Promise<unknown>[] = [];
      for (const [i, s] of loaded.entries()) {
        s.set("n", 100 + i);
        work.push(s.commit());
        work.push(redis.incr(counter));
        work.push(redis.multi().set(`${p}m:${i}`, String(i)).get(`${p}m:${i}`).exec());
        work.push(redis.pipeline().set(`${p}q:${i}`, `q${i}`).get(`${p}q:${i}`).exec());
      }
      const results = await Promise.all(work);
      for (let i = 0; i < loaded.length; i++) {
        expect(results[i * 4]).toEqual([]);
        expect(results[i * 4 + 1]).toBe(i + 1);
        expect(results[i * 4 + 2]).toEqual([
          [null, "OK"],
          [null, String(i)],
        ]);
        expect(results[i * 4 + 3]).toEqual([
          [null, "OK"],
          [null, `q${i}`],
        ]);
      }
      const after = await Promise.all(stored.map((t) => sessions.load(`sid=${t}`)));
      expect(after.map((s) => s.get("n"))).toEqual(stored.map((_, i) => 100 + i));
      expect((redis.stream as unknown as { writableCorked: number }).writableCorked).toBe(0);
    });
  }
});
