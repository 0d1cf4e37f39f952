/**
 * Issue 13 attack: "log out everywhere but here" from a tRPC procedure. `ctx.session` there is
 * the batch's per-procedure view (a proxy), and `revoke({ except })` reads the store id through
 * the session's private state (fixed in a2f3fd3 by aliasing the view). On a real PostgreSQL and
 * a real Redis, through tRPC's fetch handler: a single call and a batch that also writes keep
 * exactly the current session, and its write.
 */
import { randomUUID } from "node:crypto";
import { initTRPC } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type SessionManager } from "../../src/index.js";
import type { SessionStore } from "../../src/store.js";
import { cookieHeader } from "../helpers/cookies.js";
import { databaseUrl, openPostgresJs } from "../helpers/databases.js";
import { redisUrl, sharedRedisStore } from "../helpers/redis-server.js";

const schema = z.object({ userId: z.string().optional(), device: z.string().optional(), note: z.string().optional() });
type Sessions = SessionManager<typeof schema>;

function handler(sessions: Sessions) {
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    logoutOthers: procedure.mutation(async ({ ctx }) => {
      const userId = ctx.session.get("userId");
      if (userId === undefined) return -1;
      return sessions.revoke({ where: { userId }, except: ctx.session });
    }),
    note: procedure.input(z.string()).mutation(({ ctx, input }) => ctx.session.set("note", input)),
  });
  return (path: string, body: unknown, cookie: string) =>
    fetchRequestHandler({
      endpoint: "/trpc",
      router,
      createContext,
      req: new Request(`http://localhost/trpc/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie, origin: "http://localhost" },
        body: JSON.stringify(body),
      }),
    });
}

async function device(sessions: Sessions, userId: string, name: string): Promise<string> {
  const s = await sessions.load(undefined);
  s.set("userId", userId);
  s.set("device", name);
  return cookieHeader(await s.commit());
}

function suite(name: string, skip: boolean, open: () => Promise<{ store: SessionStore; close(): Promise<void> }>) {
  describe.skipIf(skip)(`issue 13: tRPC revoke({ except: ctx.session }) on ${name}`, () => {
    let backend: { store: SessionStore; close(): Promise<void> };
    beforeAll(async () => {
      backend = await open();
    });
    afterAll(async () => {
      await backend?.close();
    });

    it("a single call keeps exactly the caller's session", async () => {
      const sessions = defineSession({ schema, store: backend.store, cookie: { name: "sid", secure: true } });
      const user = `u-${randomUUID()}`;
      const here = await device(sessions, user, "laptop");
      const phone = await device(sessions, user, "phone");
      const tablet = await device(sessions, user, "tablet");
      const response = await handler(sessions)("logoutOthers", {}, here);
      expect(response.status).toBe(200);
      expect(((await response.json()) as { result: { data: number } }).result.data).toBe(2);
      expect((await sessions.load(here)).get("device")).toBe("laptop");
      expect((await sessions.load(phone)).isNew).toBe(true);
      expect((await sessions.load(tablet)).isNew).toBe(true);
    });

    it("a batch that revokes the others and writes keeps the caller's session and its write", async () => {
      const sessions = defineSession({ schema, store: backend.store, cookie: { name: "sid", secure: true } });
      const user = `u-${randomUUID()}`;
      const here = await device(sessions, user, "laptop");
      const phone = await device(sessions, user, "phone");
      const response = await handler(sessions)("logoutOthers,note?batch=1", { 0: {}, 1: "kept" }, here);
      expect(response.status).toBe(200);
      const [revoked] = (await response.json()) as [{ result: { data: number } }];
      expect(revoked.result.data).toBe(1);
      const loaded = await sessions.load(here);
      expect(loaded.get("device")).toBe("laptop");
      expect(loaded.get("note")).toBe("kept");
      expect((await sessions.load(phone)).isNew).toBe(true);
    });
  });
}

suite("PostgreSQL (drizzle, postgres-js)", !databaseUrl, async () => {
  const database = await openPostgresJs(databaseUrl as string);
  return { store: database.store, close: () => database.close() };
});

suite("Redis", !redisUrl, async () => sharedRedisStore(["userId"]));
