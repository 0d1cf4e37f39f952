/**
 * Second attack on the issue-15.5 fixes (memory store): the follow window, the import marker,
 * held claims. Defects: an explicit save() of a held legacy session writes under the legacy id.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "second attack secret";
const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]) });
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const _DAY = 86_400_000;

function setup(extra: { rotationGrace?: number; followSeconds?: number } = {}) {
  const clock = testClock(Date.now());
  const map = new Map();
  const legacy = expressSessionCookie({
    secrets: SECRET,
    ...(extra.followSeconds === undefined ? {} : { followSeconds: extra.followSeconds }),
  });
  const sessions = defineSession({
    schema,
    store: memoryStore({ map }),
    legacy,
    now: clock.now,
    ...(extra.rotationGrace === undefined ? {} : { rotationGrace: { seconds: extra.rotationGrace } }),
  });
  return { sessions, map, clock };
}

const tokenOf = (cookies: string[]) =>
  cookies
    .find((value) => value.startsWith("__Host-sid="))
    ?.split(";")[0]
    ?.slice(11) as string;

async function _claim(sessions: ReturnType<typeof setup>["sessions"], sid: string): Promise<string> {
  const session = await sessions.load(legacyCookie(sid));
  const token = tokenOf(await session.commit());
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token;
}

describe("tRPC streamed batch: a procedure's explicit save() on a legacy session", () => {
  it("is refused and writes nothing under the legacy id (the stream cannot carry the claim's cookie)", async () => {
    const { initTRPC } = await import("@trpc/server");
    const { fetchRequestHandler } = await import("@trpc/server/adapters/fetch");
    const { createSessionContext, sessionMiddleware } = await import("../../src/adapters/trpc.js");
    const { sessions, map } = setup();
    await sessions.importLegacy({ sid: "tr", data: { userId: "victim" }, expiresAt: null });
    const before = JSON.stringify([...map.entries()]);
    const createContext = createSessionContext(sessions);
    const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
    const procedure = t.procedure.use(sessionMiddleware);
    const router = t.router({
      add: procedure.mutation(async ({ ctx }) => {
        ctx.session.set("cart", ["via-stream"]);
        await ctx.session.save();
        return "ok";
      }),
    });
    const response = await fetchRequestHandler({
      endpoint: "/trpc",
      req: new Request("http://x/trpc/add?batch=1", {
        method: "POST",
        body: JSON.stringify({ 0: {} }),
        headers: { cookie: legacyCookie("tr"), "content-type": "application/json", "trpc-accept": "application/jsonl" },
      }),
      router,
      createContext,
    });
    const body = await response.text();
    expect(body).toContain("needs a new cookie");
    expect(JSON.stringify([...map.entries()])).toBe(before);
  });
});
