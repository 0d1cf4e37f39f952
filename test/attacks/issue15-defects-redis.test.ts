/**
 * Attacks on issue 15.5 on a real Redis: the legacy cookie through Express 4 and 5 and Hono
 * under concurrency, failures and disconnects; connect-redis keyspaces holding junk; two imports
 * at once; revoke reaching unclaimed imported sessions.
 */
import { request as httpRequest } from "node:http";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import express5 from "express";
import express4 from "express4";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession, sessionHandler } from "../../src/adapters/express.js";
import { connectRedisSource, expressSessionCookie, importSessions } from "../../src/express-session/index.js";
import { defineSession, type SessionManager } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { listenNode } from "../helpers/listen.js";
import { deleteKeys } from "../helpers/redis-keys.js";

const url = process.env.REDIS_URL;
const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "issue15 redis attack secret";
const run = `${process.pid}-${Date.now().toString(36)}`;
const legacyPrefix = `i15attack-legacy-${run}:`;
const tesseraPrefix = `i15attack-tessera-${run}:`;

const schema = z.object({ userId: z.string(), cart: z.array(z.string()).default([]) });
type Schema = typeof schema;

const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const isTessera = (value: string) => value.startsWith("sid=") && !value.startsWith("sid=;");
const _clearsLegacy = (value: string) => /^connect\.sid=;.*Max-Age=0/i.test(value);
const legacyJson = (userId: string) =>
  JSON.stringify({ cookie: { originalMaxAge: 3_600_000, httpOnly: true, path: "/" }, userId, cart: ["sku"] });

let redis: Redis;
let sessions: SessionManager<Schema>;

/** Writes a session as connect-redis would and imports it (the library path). */
async function plant(sid: string, userId = `u-${sid}`, prefix = legacyPrefix) {
  await redis.set(`${prefix}${sid}`, legacyJson(userId), "EX", 3600);
  const outcome = await sessions.importLegacy({
    sid,
    data: { userId, cart: ["sku"] },
    expiresAt: new Date(Date.now() + 3_600_000),
  });
  expect(outcome).toBe("created");
}

const live = async (userId: string) => (await sessions.findMany({ where: { userId } })).length;

beforeAll(() => {
  if (url === undefined) return;
  redis = new Redis(url, { maxRetriesPerRequest: 1 });
  sessions = defineSession({
    schema,
    // Plain HTTP in the test: `secure: false` gives the cookie the name "sid".
    cookie: { secure: false },
    store: redisStore({ redis, prefix: tesseraPrefix, indexes: ["userId"] }),
    legacy: expressSessionCookie({ secrets: SECRET }),
  });
});

afterAll(async () => {
  if (url === undefined) return;
  await deleteKeys(redis, `${legacyPrefix}*`);
  await deleteKeys(redis, `${tesseraPrefix}*`);
  await redis.quit();
});

function expressApp(express: typeof express5) {
  return express()
    .use(expressSession(sessions))
    .get(
      "/me",
      sessionHandler(sessions, async (req, res) => {
        await sleep(Number(req.query.wait ?? 5));
        res.json({ userId: req.session.has("userId") ? req.session.get("userId") : null });
      }),
    )
    .post(
      "/cart",
      sessionHandler(sessions, async (req, res) => {
        await sleep(5);
        if (!req.session.has("userId")) req.session.set("userId", "anonymous");
        req.session.set("cart", [...req.session.get("cart"), "added"]);
        res.json({ ok: true });
      }),
    )
    .get(
      "/boom",
      sessionHandler(sessions, () => {
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

  it("20 concurrent requests with one legacy cookie (a page and its XHRs): every one sees the logged-in user", async () => {
    // docs/migrating.md: "Several requests with the same old cookie at once (a page and its XHRs): each loads the session".
    await plant(`${tag}-page`);
    const server = await listenNode(expressApp(express));
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
    await plant(`${tag}-race`);
    const server = await listenNode(expressApp(express));
    try {
      const responses = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${server.url}/cart`, { method: "POST", headers: { cookie: legacyCookie(`${tag}-race`) } }),
        ),
      );
      await Promise.all(responses.map((response) => response.text()));
      // The browser keeps whichever Set-Cookie arrives last: any second Tessera cookie may log the user out.
      const tesseraCookies = responses.flatMap((response) => response.headers.getSetCookie()).filter(isTessera);
      expect(await live("anonymous")).toBe(0);
      expect(tesseraCookies).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it("a client that hung up before any response still has its legacy session on the next request", async () => {
    await plant(`${tag}-gone`);
    const server = await listenNode(expressApp(express));
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
      importSessions(sessions, source(), { map }),
      importSessions(sessions, source(), { map }),
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
    await plant("revoked-1", "revoke-me", prefix);
    await plant("revoked-2", "revoke-me", prefix);
    expect(await live("revoke-me")).toBe(2);
    expect((await sessions.operator.revoke({ where: { userId: "revoke-me" } })).count).toBe(2);
    expect((await sessions.load(legacyCookie("revoked-1"))).has("userId")).toBe(false);
    // The operator re-runs the import; connect-redis still holds both keys.
    const source = connectRedisSource({ redis: redis as never, prefix });
    await importSessions(sessions, source, { map: (legacy) => ({ userId: legacy.userId as string }) });
    expect((await sessions.load(legacyCookie("revoked-1"))).has("userId")).toBe(false);
    expect(await live("revoke-me")).toBe(0);
  });
});
