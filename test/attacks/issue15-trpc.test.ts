/**
 * Attack on issue 15.5 through tRPC: a legacy cookie on a batch, plain and streamed
 * (httpBatchStreamLink's `trpc-accept: application/jsonl`), whose headers go out before the commit.
 */
import { createRequire } from "node:module";
import { initTRPC } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "issue15 trpc attack secret";
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const schema = z.object({ userId: z.string().optional() });

function app() {
  const sessions = defineSession({
    schema,
    store: memoryStore(),
    legacy: expressSessionCookie({ secrets: SECRET, followSeconds: 0 }),
  });
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    me: procedure.query(({ ctx }) => ctx.session.get("userId") ?? null),
  });
  const call = (cookie: string, stream: boolean) =>
    fetchRequestHandler({
      endpoint: "/trpc",
      req: new Request(`http://x/trpc/me,me?batch=1&input=${encodeURIComponent("{}")}`, {
        headers: { cookie, ...(stream ? { "trpc-accept": "application/jsonl" } : {}) },
      }),
      router,
      createContext,
    });
  return { sessions, call };
}

describe("tRPC: the legacy cookie", () => {
  it("a plain batch claims it once: both procedures see the user, one Tessera cookie, the legacy one cleared", async () => {
    const { sessions, call } = app();
    await sessions.importLegacy({ sid: "batch", data: { userId: "u_batch" }, expiresAt: null });
    const response = await call(legacyCookie("batch"), false);
    const body = await response.text();
    expect(body.match(/u_batch/g)).toHaveLength(2);
    const cookies = response.headers.getSetCookie();
    expect(cookies.filter((value) => /^__Host-sid=[A-Za-z0-9_-]{43};/.test(value))).toHaveLength(1);
    expect(cookies.filter((value) => value.startsWith("connect.sid=;"))).toHaveLength(1);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(await (await call(legacyCookie("batch"), false)).text()).not.toContain("u_batch");
  });
});

describe("fixed after the attack: tRPC", () => {
  describe("tRPC httpBatchStreamLink: the legacy cookie", () => {
    it("a streamed batch that cannot set the new cookie does not use up the legacy session", async () => {
      const sessions = defineSession({ schema, store: memoryStore(), legacy: expressSessionCookie({ secrets: SECRET }) });
      const createContext = createSessionContext(sessions);
      const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
      const procedure = t.procedure.use(sessionMiddleware);
      const router = t.router({ me: procedure.query(({ ctx }) => ctx.session.get("userId") ?? null) });
      await sessions.importLegacy({ sid: "streamed", data: { userId: "u_stream" }, expiresAt: null });
      const response = await fetchRequestHandler({
        endpoint: "/trpc",
        req: new Request(`http://x/trpc/me?batch=1&input=${encodeURIComponent("{}")}`, {
          headers: { cookie: legacyCookie("streamed"), "trpc-accept": "application/jsonl" },
        }),
        router,
        createContext,
      });
      const body = await response.text();
      const delivered = response.headers.getSetCookie().some((value) => /^__Host-sid=[A-Za-z0-9_-]{43};/.test(value));
      console.log(`streamed batch: status ${response.status}, new cookie delivered: ${delivered}, body ${body.slice(0, 200)}`);
      // Either the new token reached the browser, or the old cookie still leads to the session.
      if (!delivered) expect((await sessions.load(legacyCookie("streamed"))).get("userId")).toBe("u_stream");
    });
  });
});
