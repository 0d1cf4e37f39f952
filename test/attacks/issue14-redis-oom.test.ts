/**
 * Issue 14 attack on the one-string read's Lua script under Redis memory pressure: a Redis at
 * `maxmemory` with `noeviction` refuses writes ("OOM command not allowed"), but plain reads
 * (HGETALL) still answer. Reading sessions through EVALSHA must not turn a full Redis into a
 * read outage: logged-in users keep reading their sessions while writes fail typed.
 */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, isTesseraError } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { hashToken } from "../../src/token.js";
import { canStartRedis, freePort, type PrivateRedis, startRedis } from "../helpers/redis-server.js";

const schema = z.object({ userId: z.string().optional(), note: z.string().optional() });

describe.skipIf(!canStartRedis)("issue 14 redis read under maxmemory (private redis-server, noeviction)", () => {
  let server: PrivateRedis;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis(await freePort(27_800), ["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]);
    redis = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it("a full Redis: stored sessions still load (reads), a write fails STORE_UNAVAILABLE", async () => {
    const sessions = defineSession({
      schema,
      store: redisStore({ redis, prefix: "oom:" }),
      cookie: { secure: false, name: "sid" },
    });
    const s = await sessions.load(null);
    s.set("userId", "u1");
    const token = ((await s.commit())[0] as string).split(";")[0]?.split("=")[1] as string;
    // Fill memory with the app's own data until Redis refuses writes.
    const filler = "x".repeat(64 * 1024);
    let full = false;
    for (let i = 0; i < 1000 && !full; i++) {
      try {
        await redis.set(`fill:${i}`, filler);
      } catch (error) {
        full = String(error).includes("OOM");
      }
    }
    expect(full).toBe(true);
    // A plain read still answers on a full Redis.
    expect(await redis.hget(`oom:s:{${hashToken(token)}}`, "rev")).not.toBeNull();
    const loaded = await sessions.load(`sid=${token}`).then(
      (session) => session.get("userId"),
      (error: unknown) => (isTesseraError(error) ? error.code : String(error)),
    );
    expect(loaded).toBe("u1");
    const write = await sessions.load(`sid=${token}`).then(async (session) => {
      session.set("note", "n".repeat(1000));
      return session.commit().then(
        () => "ok",
        (error: unknown) => (isTesseraError(error) ? error.code : String(error)),
      );
    });
    expect(write).toBe("STORE_UNAVAILABLE");
    // The script cache emptied (a restart or failover to a replica, SCRIPT FLUSH) while full:
    // ioredis falls back from EVALSHA to EVAL, which must still read.
    await redis.script("FLUSH");
    const again = await sessions.load(`sid=${token}`).then(
      (session) => session.get("userId"),
      (error: unknown) => (isTesseraError(error) ? error.code : String(error)),
    );
    expect(again).toBe("u1");
  });
});
