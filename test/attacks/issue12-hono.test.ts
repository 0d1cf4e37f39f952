import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { honoSession, type SessionEnv } from "../../src/adapters/hono.js";
import { readCookie } from "../../src/cookie.js";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { hashToken } from "../../src/token.js";
import { cookieHeader } from "../helpers/cookies.js";
import { listen } from "../helpers/listen.js";

const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]) });

let closing: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closing?.();
  closing = undefined;
});

const evil = { Origin: "https://evil.example", "Sec-Fetch-Site": "same-site" };

describe("attack issue 12 on Hono", () => {
  it("an app and a sub-app mounted with different csrf options: the stricter one refuses, nothing is stored", async () => {
    const store = memoryStore();
    const sessions = defineSession({ schema, store });
    type Env = SessionEnv<typeof sessions>;
    const sub = new Hono<Env>().use(honoSession(sessions)).post("/login", async (c) => {
      await c.get("session").login("userId", "u1");
      return c.text("in");
    });
    const app = new Hono<Env>().use(honoSession(sessions, { csrf: false })).route("/sub", sub);
    const server = await listen(app.fetch);
    closing = server.close;
    const response = await fetch(`${server.url}/sub/login`, { method: "POST", headers: evil });
    expect(response.status).toBe(403);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("cache-control")).toBe("no-store");
  });

  it("a handler's c.header('Cache-Control', 'public') and a Response with s-maxage both become private, no-store with the cookie", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const app = new Hono<SessionEnv<typeof sessions>>()
      .use(honoSession(sessions))
      .get("/a", (c) => {
        c.get("session").set("cart", ["x"]);
        c.header("Cache-Control", "public, max-age=600");
        return c.text("a");
      })
      .get("/b", (c) => {
        c.get("session").set("cart", ["y"]);
        return new Response("b", { headers: { "Cache-Control": "public, s-maxage=31536000", Vary: "*" } });
      });
    const server = await listen(app.fetch);
    closing = server.close;
    for (const path of ["/a", "/b"]) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.headers.getSetCookie()).toHaveLength(1);
      expect(response.headers.get("cache-control")).toBe("private, no-store");
    }
  });

  it("write, then login() of a session revoked meanwhile: 401, no cookie, nothing stored", async () => {
    const store = memoryStore();
    const sessions = defineSession({ schema, store });
    const app = new Hono<SessionEnv<typeof sessions>>()
      .use(honoSession(sessions))
      .get("/seed", (c) => {
        c.get("session").set("cart", ["seed"]);
        return c.text("s");
      })
      .get("/login", async (c) => {
        const session = c.get("session");
        session.set("cart", ["during"]);
        await store.delete(hashToken(readCookie(c.req.header("Cookie") ?? "", sessions.cookieName) as string)); // revoked elsewhere meanwhile
        await session.login("userId", "u1");
        return c.text("in");
      });
    const server = await listen(app.fetch);
    closing = server.close;
    const seeded = await fetch(`${server.url}/seed`);
    const cookie = cookieHeader(seeded.headers.getSetCookie());
    const response = await fetch(`${server.url}/login`, { headers: { Cookie: cookie } });
    expect(response.status).toBe(401);
    expect(response.headers.getSetCookie()).toEqual([]);
    const after = await sessions.load(cookie);
    expect(after.isNew).toBe(true);
  });
});
