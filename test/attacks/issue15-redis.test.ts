import { request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import express5 from "express";
import express4 from "express4";
import { Hono } from "hono";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession, sessionHandler } from "../../src/adapters/express.js";
import { honoSession } from "../../src/adapters/hono.js";
import {
  connectRedisSource,
  expressSessionCookie,
  type ImportRejection,
  importSessions,
} from "../../src/express-session/index.js";
import { defineSession, type SessionManager } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { legacyStoreId } from "../../src/token.js";
import { listenNode } from "../helpers/listen.js";
import { deleteKeys } from "../helpers/redis-keys.js";

const url = process.env.REDIS_URL;
const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "issue15 redis attack secret";
const run = `${process.pid}-${Date.now().toString(36)}`;
const legacyPrefix = `i15attack-legacy-${run}:`;
const tesseraPrefix = `i15attack-tessera-${run}:`;
const followedPrefix = `i15attack-followed-${run}:`;

const schema = z.object({ userId: z.string(), cart: z.array(z.string()).default([]) });
type Schema = typeof schema;

const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const isTessera = (value: string) => value.startsWith("sid=") && !value.startsWith("sid=;");
const clearsLegacy = (value: string) => /^connect\.sid=;.*Max-Age=0/i.test(value);
const legacyJson = (userId: string) =>
  JSON.stringify({ cookie: { originalMaxAge: 3_600_000, httpOnly: true, path: "/" }, userId, cart: ["sku"] });

let redis: Redis;
let sessions: SessionManager<Schema>;
/** With the default follow window (the attack's first setting), on its own keyspace. */
let followed: SessionManager<Schema>;

/** Writes a session as connect-redis would and imports it (the library path). */
async function plant(sid: string, userId = `u-${sid}`, prefix = legacyPrefix, manager = sessions) {
  await redis.set(`${prefix}${sid}`, legacyJson(userId), "EX", 3600);
  const outcome = await manager.importLegacy({
    sid,
    data: { userId, cart: ["sku"] },
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  expect(outcome).toBe("created");
}

const live = async (userId: string, manager = sessions) => (await manager.findMany({ where: { userId } })).length;

beforeAll(() => {
  if (url === undefined) return;
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
  sessions = defineSession({
    schema,
    // Plain HTTP in the test: `secure: false` gives the cookie the name "sid".
    cookie: { secure: false },
    store: redisStore({ redis, prefix: tesseraPrefix, indexes: ["userId"] }),
    legacy: expressSessionCookie({ secrets: SECRET, followSeconds: 0 }),
  });
  followed = defineSession({
    schema,
    cookie: { secure: false },
    store: redisStore({ redis, prefix: followedPrefix, indexes: ["userId"] }),
    legacy: expressSessionCookie({ secrets: SECRET }),
  });
});

afterAll(async () => {
  if (url === undefined) return;
  await deleteKeys(redis, `${legacyPrefix}*`);
  await deleteKeys(redis, `${tesseraPrefix}*`);
  await deleteKeys(redis, `${followedPrefix}*`);
  await redis.quit();
});

function expressApp(express: typeof express5, manager = sessions) {
  return express()
    .use(expressSession(manager))
    .get(
      "/me",
      sessionHandler(manager, async (req, res) => {
        await sleep(Number(req.query.wait ?? 5));
        res.json({ userId: req.session.has("userId") ? req.session.get("userId") : null });
      }),
    )
    .post(
      "/cart",
      sessionHandler(manager, async (req, res) => {
        await sleep(5);
        if (!req.session.has("userId")) req.session.set("userId", "anonymous");
        req.session.set("cart", [...req.session.get("cart"), "added"]);
        res.json({ ok: true });
      }),
    )
    .get(
      "/boom",
      sessionHandler(manager, () => {
        throw new Error("handler bug");
      }),
    );
}

const majors = [
  ["Express 5", express5],
  ["Express 4", express4 as unknown as typeof express5],
] as const;

describe.skipIf(url === undefined).each(majors)("%s: the legacy cookie over HTTP", (name, express) => {
  const tag = name.replace(" ", "");

  it("20 concurrent reads with one legacy cookie: one Tessera cookie, one session, no 5xx", async () => {
    await plant(`${tag}-reads`);
    const server = await listenNode(expressApp(express));
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () => fetch(`${server.url}/me`, { headers: { cookie: legacyCookie(`${tag}-reads`) } })),
      );
      const bodies = await Promise.all(responses.map((response) => response.json() as Promise<{ userId: string | null }>));
      const statuses = responses.map((response) => response.status);
      const cookies = responses.flatMap((response) => response.headers.getSetCookie());
      expect(statuses.every((status) => status === 200)).toBe(true);
      expect(cookies.filter(isTessera)).toHaveLength(1);
      expect(cookies.filter(clearsLegacy)).toHaveLength(1);
      expect(await live(`u-${tag}-reads`)).toBe(1);
      // The one response with the new cookie is the one that was logged in through it.
      const winner = responses.findIndex((response) => response.headers.getSetCookie().some(isTessera));
      expect(bodies[winner]?.userId).toBe(`u-${tag}-reads`);
      expect(responses[winner]?.headers.get("cache-control")).toBe("private, no-store");
      expect(responses[winner]?.headers.get("vary")).toMatch(/cookie/i);
      // Replay: nothing.
      const replay = await fetch(`${server.url}/me`, { headers: { cookie: legacyCookie(`${tag}-reads`) } });
      expect(await replay.json()).toEqual({ userId: null });
      // The shadow left under the legacy id, so that a re-import finds it taken.
      const shadow = `${tesseraPrefix}s:{${legacyStoreId(`${tag}-reads`)}}`;
      expect(await redis.exists(shadow)).toBe(1);
      // It lives as long as the imported session would have (an hour), not a short grace.
      expect(await redis.pttl(shadow)).toBeGreaterThan(55 * 60_000);
      // A re-run of the import finds it taken and leaves it so.
      const again = { sid: `${tag}-reads`, data: { userId: `u-${tag}-reads` }, expiresAt: new Date(Date.now() + 3_600_000) };
      expect(await sessions.importLegacy(again)).toBe("exists");
      const afterReimport = await fetch(`${server.url}/me`, { headers: { cookie: legacyCookie(`${tag}-reads`) } });
      expect(await afterReimport.json()).toEqual({ userId: null });
    } finally {
      await server.close();
    }
  });

  it("20 concurrent writes with one legacy cookie: the data is never split into two logged-in sessions", async () => {
    await plant(`${tag}-writes`);
    const server = await listenNode(expressApp(express));
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${server.url}/cart`, { method: "POST", headers: { cookie: legacyCookie(`${tag}-writes`) } }),
        ),
      );
      await Promise.all(responses.map((response) => response.text()));
      const statuses = responses.map((response) => response.status);
      const tesseraCookies = responses.flatMap((response) => response.headers.getSetCookie()).filter(isTessera);
      const count = (status: number) => statuses.filter((s) => s === status).length;
      console.log(
        `${name}: 20 concurrent writes: ${count(200)} × 200, ${count(401)} × 401, ${tesseraCookies.length} Tessera cookie(s)`,
      );
      expect(statuses.filter((status) => status >= 500)).toEqual([]);
      expect(await live(`u-${tag}-writes`)).toBe(1);
      const [session] = await sessions.findMany({ where: { userId: `u-${tag}-writes` } });
      expect(session?.data.cart).toEqual(["sku", "added"]);
    } finally {
      await server.close();
    }
  });

  it("a handler that throws commits nothing: the legacy cookie still logs in afterwards", async () => {
    await plant(`${tag}-boom`);
    const server = await listenNode(expressApp(express));
    try {
      const boom = await fetch(`${server.url}/boom`, { headers: { cookie: legacyCookie(`${tag}-boom`) } });
      expect(boom.status).toBe(500);
      expect(boom.headers.getSetCookie()).toEqual([]);
      const me = await fetch(`${server.url}/me`, { headers: { cookie: legacyCookie(`${tag}-boom`) } });
      expect(await me.json()).toEqual({ userId: `u-${tag}-boom` });
      expect(me.headers.getSetCookie().some(isTessera)).toBe(true);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(url === undefined)("Hono: the legacy cookie", () => {
  it("claims once, with Cache-Control private, no-store and the legacy cookie cleared", async () => {
    await plant("hono-1");
    const app = new Hono()
      .use(honoSession(sessions))
      .get("/", (c) => c.json({ userId: c.get("session").has("userId") ? c.get("session").get("userId") : null }))
      .get("/boom", () => {
        throw new Error("handler bug");
      });
    const boom = await app.request("/boom", { headers: { cookie: legacyCookie("hono-1") } });
    expect(boom.status).toBe(500);
    expect(boom.headers.getSetCookie()).toEqual([]);
    const first = await app.request("/", { headers: { cookie: legacyCookie("hono-1") } });
    expect(await first.json()).toEqual({ userId: "u-hono-1" });
    expect(first.headers.get("cache-control")).toBe("private, no-store");
    expect(first.headers.getSetCookie().filter(clearsLegacy)).toHaveLength(1);
    expect(first.headers.getSetCookie().filter(isTessera)).toHaveLength(1);
    expect(await (await app.request("/", { headers: { cookie: legacyCookie("hono-1") } })).json()).toEqual({ userId: null });
  });
});

describe.skipIf(url === undefined)("connect-redis keyspaces and the operator", () => {
  it("keys of every other type, an empty suffix and glob characters in the prefix are reported or ignored, never imported", async () => {
    const prefix = `${legacyPrefix}g[1]*?:`;
    const twin = `${legacyPrefix}g1X:`; // what the unescaped glob `g[1]*?:` would also match
    await redis.set(`${prefix}good-aaaaaaaaaaaaaaaaa`, legacyJson("glob-user"), "EX", 600);
    await redis.set(`${twin}other-aaaaaaaaaaaaaaaa`, legacyJson("twin-user"), "EX", 600);
    await redis.set(prefix, legacyJson("bare-prefix"), "EX", 600);
    await redis.rpush(`${prefix}list-aaaaaaaaaaaaaaaaa`, "x");
    await redis.sadd(`${prefix}set-aaaaaaaaaaaaaaaaaa`, "x");
    await redis.zadd(`${prefix}zset-aaaaaaaaaaaaaaaaa`, 1, "x");
    await redis.hset(`${prefix}hash-aaaaaaaaaaaaaaaaa`, "f", "v");
    await redis.xadd(`${prefix}stream-aaaaaaaaaaaaaaa`, "*", "f", "v");
    await redis.set(`${prefix}null-aaaaaaaaaaaaaaaaa`, "null", "EX", 600);
    await redis.set(`${prefix}string-aaaaaaaaaaaaaaa`, '"s:abc"', "EX", 600);
    await redis.set(`${prefix}empty-aaaaaaaaaaaaaaaa`, "", "EX", 600);
    const lines: ImportRejection[] = [];
    const source = connectRedisSource({ redis: redis as never, prefix, batchSize: 3 });
    const result = await importSessions(sessions, source, {
      map: (legacy) => ({ userId: legacy.userId as string }),
      onReject: (line) => lines.push(line),
    });
    expect(result).toMatchObject({ read: 9, imported: 1, rejected: 8 });
    expect(result.reasons).toEqual({ "not-a-string": 5, "not-an-object": 2, "not-json": 1 });
    expect(await live("glob-user")).toBe(1);
    expect(await live("twin-user")).toBe(0);
    expect(await live("bare-prefix")).toBe(0);
    for (const line of lines) expect(line.sid.length).toBeLessThanOrEqual(5);
  });
});

describe("fixed after the attack: the default follow window", () => {
  const plantFollowed = (sid: string, userId?: string, prefix?: string) => plant(sid, userId, prefix, followed);

  describe.skipIf(url === undefined).each(majors)("%s: the legacy cookie over HTTP", (name, express) => {
    const tag = name.replace(" ", "");

    it("20 concurrent requests with one legacy cookie (a page and its XHRs): every one sees the logged-in user", async () => {
      // docs/migrating.md: "Several requests with the same old cookie at once (a page and its XHRs): each loads the session".
      await plantFollowed(`${tag}-page`);
      const server = await listenNode(expressApp(express, followed));
      try {
        const responses = await Promise.all(
          Array.from({ length: 20 }, () => fetch(`${server.url}/me`, { headers: { cookie: legacyCookie(`${tag}-page`) } })),
        );
        const bodies = await Promise.all(responses.map((response) => response.json() as Promise<{ userId: string | null }>));
        const loggedIn = bodies.filter((body) => body.userId === `u-${tag}-page`).length;
        console.log(`${name}: 20 concurrent reads with one legacy cookie: ${loggedIn} of 20 logged in`);
        expect(loggedIn).toBe(20);
      } finally {
        await server.close();
      }
    });

    it("20 concurrent writes with one legacy cookie: no anonymous Tessera cookie races the logged-in one", async () => {
      await plantFollowed(`${tag}-race`);
      const server = await listenNode(expressApp(express, followed));
      try {
        const responses = await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`${server.url}/cart`, { method: "POST", headers: { cookie: legacyCookie(`${tag}-race`) } }),
          ),
        );
        await Promise.all(responses.map((response) => response.text()));
        // The browser keeps whichever Set-Cookie arrives last: any second Tessera cookie may log the user out.
        const tesseraCookies = responses.flatMap((response) => response.headers.getSetCookie()).filter(isTessera);
        expect(await live("anonymous", followed)).toBe(0);
        expect(tesseraCookies).toHaveLength(1);
      } finally {
        await server.close();
      }
    });

    it("a client that hung up before any response still has its legacy session on the next request", async () => {
      await plantFollowed(`${tag}-gone`);
      const server = await listenNode(expressApp(express, followed));
      try {
        // The browser navigates away while the first page is slow: nobody receives the new token.
        await new Promise<void>((done) => {
          const req = httpRequest(`${server.url}/me?wait=300`, { headers: { cookie: legacyCookie(`${tag}-gone`) } });
          req.on("error", () => done());
          req.end();
          setTimeout(() => {
            req.destroy();
            done();
          }, 50);
        });
        await sleep(500);
        const me = await fetch(`${server.url}/me`, { headers: { cookie: legacyCookie(`${tag}-gone`) } });
        expect(await me.json()).toEqual({ userId: `u-${tag}-gone` });
      } finally {
        await server.close();
      }
    });
  });

  describe.skipIf(url === undefined)("connect-redis keyspaces and the operator", () => {
    it("two imports of one keyspace at once both finish, each session imported once", async () => {
      const prefix = `${legacyPrefix}twice:`;
      for (let i = 0; i < 200; i++) await redis.set(`${prefix}sid-${i}-aaaaaaaaaaaa`, legacyJson(`twice-${i}`), "EX", 600);
      const source = () => connectRedisSource({ redis: redis as never, prefix, batchSize: 50 });
      const map = (legacy: Record<string, unknown>) => ({ userId: legacy.userId as string });
      const [a, b] = await Promise.allSettled([
        importSessions(followed, source(), { map }),
        importSessions(followed, source(), { map }),
      ]);
      expect(a.status, a.status === "rejected" ? String(a.reason) : "").toBe("fulfilled");
      expect(b.status, b.status === "rejected" ? String(b.reason) : "").toBe("fulfilled");
      if (a.status === "fulfilled" && b.status === "fulfilled") {
        expect(a.value.imported + b.value.imported).toBe(200);
        expect(a.value.existing + b.value.existing).toBe(200);
      }
    });

    it("revoke reaches unclaimed imported sessions, and a re-import does not bring them back", async () => {
      const prefix = `${legacyPrefix}rv:`;
      await plantFollowed("revoked-1", "revoke-me", prefix);
      await plantFollowed("revoked-2", "revoke-me", prefix);
      expect(await live("revoke-me", followed)).toBe(2);
      expect((await followed.operator.revoke({ where: { userId: "revoke-me" } })).count).toBe(2);
      expect((await followed.load(legacyCookie("revoked-1"))).has("userId")).toBe(false);
      // The operator re-runs the import; connect-redis still holds both keys.
      const source = connectRedisSource({ redis: redis as never, prefix });
      await importSessions(followed, source, { map: (legacy) => ({ userId: legacy.userId as string }) });
      expect((await followed.load(legacyCookie("revoked-1"))).has("userId")).toBe(false);
      expect(await live("revoke-me", followed)).toBe(0);
    });
  });
});
