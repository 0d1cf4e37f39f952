/**
 * Issue 14 attack on `batchWrites` (a tick's Tessera commands corked into one socket write): a
 * connection that drops, or a server that dies, between the cork and the uncork; clients without
 * an offline queue; auto-pipelining clients; the app's MULTI and pipelines in the same tick. A
 * commit either lands (exactly once: `rev` moves by one) or fails with a typed error; nothing
 * hangs and nothing is lost silently. Faults are made on a private redis-server stopped by pid.
 */
import { randomUUID } from "node:crypto";
import { Cluster, Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, isTesseraError } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { hashToken } from "../../src/token.js";
import {
  canStartRedis,
  freePort,
  freePorts,
  type PrivateRedis,
  redisUrl,
  startCluster,
  startRedis,
} from "../helpers/redis-server.js";

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

/** Runs `fault` inside the tick of the next cork of `redis`'s socket, after Tessera's command was buffered. */
function onNextCork(redis: Redis, fault: () => void) {
  const stream = redis.stream as unknown as { cork(): void };
  const cork = stream.cork;
  stream.cork = function (this: unknown) {
    stream.cork = cork;
    cork.call(this);
    // A promise job of this tick: runs before batchWrites' process.nextTick uncork.
    queueMicrotask(fault);
  };
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

describe.skipIf(!canStartRedis)("issue 14 write batching under faults (private redis-server)", () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await startRedis(await freePort(27_400));
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("the socket destroyed between cork and uncork: every commit lands exactly once or fails typed, none hangs", async () => {
    const prefix = `wb-${randomUUID().slice(0, 6)}:`;
    const redis = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: 2 });
    redis.on("error", () => {});
    const observer = new Redis({ port: server.port, host: "127.0.0.1" });
    try {
      await redis.ping();
      const sessions = managerOn(redis, prefix);
      // 20 stored sessions, each at n = 0.
      const tokens: string[] = [];
      for (let i = 0; i < 20; i++) {
        const s = await sessions.load(null);
        s.set("n", 0);
        tokens.push(tokenOf(await s.commit()));
      }
      const revs = await Promise.all(tokens.map((t) => observer.hget(`${prefix}s:{${hashToken(t)}}`, "rev")));
      const loaded = await Promise.all(tokens.map((t) => sessions.load(`sid=${t}`)));
      let dropped = 0;
      onNextCork(redis, () => {
        dropped = redis.stream.writableLength;
        redis.stream.destroy();
      });
      const results = await Promise.all(
        loaded.map((s, i) => {
          s.set("n", i + 1);
          return settle(s.commit());
        }),
      );
      for (const [i, result] of results.entries()) {
        const key = `${prefix}s:{${hashToken(tokens[i] as string)}}`;
        const [rev, n] = await observer.hmget(key, "rev", "d:n");
        if (result.ok) {
          expect(JSON.parse(n as string).json).toBe(i + 1);
          expect(Number(rev)).toBe(Number(revs[i]) + 1);
        } else {
          expect(isTesseraError(result.error) && result.error.code).toBe("STORE_UNAVAILABLE");
          expect(Number(rev)).toBe(Number(revs[i]));
        }
      }
      // The fault hit buffered Tessera commands (the cork held them), and what came of them.
      expect(dropped).toBeGreaterThan(0);
      // The client is usable afterwards.
      expect((await sessions.load(`sid=${tokens[0]}`)).get("n")).toBeTypeOf("number");
    } finally {
      redis.disconnect();
      observer.disconnect();
    }
  });

  it("the server killed between cork and uncork, then restarted: commits settle (typed error or success), the client recovers", async () => {
    const prefix = `wb-${randomUUID().slice(0, 6)}:`;
    const redis = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on("error", () => {});
    try {
      await redis.ping();
      const sessions = managerOn(redis, prefix);
      const pending = Array.from({ length: 10 }, async (_, i) => {
        const s = await sessions.load(null);
        s.set("n", i);
        return s.commit();
      });
      let killed: Promise<void> | undefined;
      onNextCork(redis, () => {
        killed = server.kill();
      });
      const results = await Promise.all(pending.map(settle));
      expect(killed).toBeDefined();
      await killed;
      for (const result of results) {
        if (!result.ok) expect(isTesseraError(result.error) && result.error.code).toBe("STORE_UNAVAILABLE");
      }
      await server.restart();
      // After the restart the same client serves again (ioredis reconnects by itself).
      for (let attempt = 0; ; attempt++) {
        const s = await sessions.load(null);
        s.set("n", 99);
        const r = await settle(s.commit());
        if (r.ok) {
          expect((await sessions.load(`sid=${tokenOf(r.value)}`)).get("n")).toBe(99);
          break;
        }
        expect(isTesseraError(r.error) && r.error.code).toBe("STORE_UNAVAILABLE");
        if (attempt > 50) throw new Error("the client never recovered");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      redis.disconnect();
    }
  });

  it("enableOfflineQueue: false, server down: load and commit fail typed at once (no cork of a dead socket, no hang)", async () => {
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

describe.skipIf(!redisUrl)("issue 14 write batching beside the app's own traffic (shared Redis)", () => {
  const prefix = `issue14-wb-${randomUUID().slice(0, 8)}:`;
  let plain: Redis;
  let auto: Redis;
  beforeAll(() => {
    plain = new Redis(redisUrl as string);
    auto = new Redis(redisUrl as string, { enableAutoPipelining: true });
  });
  afterAll(async () => {
    let cursor = "0";
    do {
      const [next, keys] = await plain.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await plain.del(...keys);
    } while (cursor !== "0");
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

  it("an app that corks the socket itself keeps its own cork: Tessera's uncork does not release it early", async () => {
    const redis = new Redis(redisUrl as string);
    try {
      await redis.ping();
      const sessions = managerOn(redis, `${prefix}selfcork:`);
      const stream = redis.stream as unknown as { cork(): void; uncork(): void; writableCorked: number };
      stream.cork();
      const s = await sessions.load(null);
      s.set("n", 1);
      const commit = s.commit();
      await new Promise((resolve) => setImmediate(resolve));
      // Still corked once, by the app: the count is balanced.
      expect(stream.writableCorked).toBe(1);
      stream.uncork();
      expect((await commit).length).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});

describe.skipIf(!canStartRedis)("issue 14 write batching leaves a Cluster alone", () => {
  it("no node connection of a Cluster is ever corked, and a tick of commits lands", async () => {
    const started = await startCluster(await freePorts(31_000, 3, { bus: true }));
    const cluster = new Cluster(started.nodes);
    try {
      const sessions = defineSession({
        schema,
        store: redisStore({ redis: cluster, prefix: "wb:" }),
        cookie: { secure: false, name: "sid" },
      });
      // Connect every node first, then count every cork of their sockets.
      for (let i = 0; i < 20; i++) {
        const warm = await sessions.load(null);
        warm.set("n", -1);
        await warm.commit();
      }
      let corks = 0;
      let watched = 0;
      for (const node of cluster.nodes("all")) {
        const stream = node.stream as unknown as { cork(): void } | undefined;
        if (stream === undefined) continue;
        watched++;
        const cork = stream.cork.bind(stream);
        stream.cork = () => {
          corks++;
          cork();
        };
      }
      const tokens = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const s = await sessions.load(null);
          s.set("n", i);
          return tokenOf(await s.commit());
        }),
      );
      expect(watched).toBeGreaterThan(1);
      expect(corks).toBe(0);
      const back = await Promise.all(tokens.map(async (t) => (await sessions.load(`sid=${t}`)).get("n")));
      expect(back).toEqual(tokens.map((_, i) => i));
    } finally {
      cluster.disconnect();
      await started.stop();
    }
  }, 60_000);
});
