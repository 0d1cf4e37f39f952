/**
 * Issue 14 attack: a response whose only Set-Cookie is the cookie-cache snapshot (a read that
 * went to the store) must still be marked private (`Cache-Control: private, no-store`, `Vary:
 * Cookie`), or a shared cache could store one user's Set-Cookie and replay it to others.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { initTRPC } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import express from "express";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession } from "../../src/adapters/express.js";
import { withSession } from "../../src/adapters/fetch.js";
import { honoSession } from "../../src/adapters/hono.js";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const schema = z.object({ userId: z.string().optional() });
type Sessions = SessionManager<typeof schema>;
type Call = (cookie: string) => Promise<Response>;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

const apps: Record<string, (sessions: Sessions) => Promise<Call>> = {
  async express(sessions) {
    const app = express()
      .use(expressSession(sessions))
      .get("/", (req, res) => {
        res.set("Cache-Control", "public, max-age=600");
        res.json((req as unknown as { session: { get(k: "userId"): unknown } }).session.get("userId"));
      });
    const server = createServer(app);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    return (cookie) => fetch(url, { headers: { cookie } });
  },
  async hono(sessions) {
    const app = new Hono<{ Variables: { session: Awaited<ReturnType<Sessions["load"]>> } }>()
      .use(honoSession(sessions))
      .get("/", (c) => {
        c.header("Cache-Control", "public, max-age=600");
        return c.json(c.get("session").get("userId") ?? null);
      });
    return async (cookie) => app.fetch(new Request("http://localhost/", { headers: { cookie } }));
  },
  async trpc(sessions) {
    const createContext = createSessionContext(sessions);
    const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
    const router = t.router({ me: t.procedure.use(sessionMiddleware).query(({ ctx }) => ctx.session.get("userId") ?? null) });
    return async (cookie) =>
      fetchRequestHandler({
        endpoint: "/trpc",
        req: new Request("http://localhost/trpc/me", { headers: { cookie } }),
        router,
        createContext,
        responseMeta: () => ({ headers: { "cache-control": "public, max-age=600" } }),
      });
  },
  async fetch(sessions) {
    const handler = withSession(sessions, (_request, session) =>
      Response.json(session.get("userId") ?? null, { headers: { "Cache-Control": "public, max-age=600" } }),
    );
    return async (cookie) => handler(new Request("http://localhost/", { headers: { cookie } }));
  },
};

for (const [label, make] of Object.entries(apps)) {
  describe(`issue 14 snapshot-only responses are private: ${label}`, () => {
    it("a store read that sends only sid.cache (and one that clears an orphan snapshot) is private, no-store, Vary: Cookie, even when the app said public", async () => {
      const sessions = defineSession({
        schema,
        store: memoryStore(),
        cookie: { secure: false, name: "sid" },
        cookieCache: { maxAge: "30s", secrets: "issue14-headers-cookie-cache-secret-0123456789" },
      });
      const seeded = await sessions.load(null);
      seeded.set("userId", "u1");
      const [sid, cache] = (await seeded.commit()).map((c) => c.split(";")[0] as string);
      const call = await make(sessions);
      for (const [cookie, expected] of [
        [sid as string, "sid.cache"],
        [cache as string, "sid.cache"],
      ] as const) {
        const response = await call(cookie);
        expect(response.status).toBe(200);
        expect(response.headers.getSetCookie().map((c) => c.split("=")[0])).toEqual([expected]);
        expect(response.headers.get("cache-control")).toBe("private, no-store");
        expect(response.headers.get("vary")?.toLowerCase()).toContain("cookie");
      }
    });
  });
}
