/**
 * Second attack on the issue-15.5 fixes (memory store): the follow window, the import marker,
 * held claims: a streamed tRPC batch against an explicit save() of a legacy session.
 */
import { describe, expect, it } from "vitest";
import { legacyCookie, setup } from "./issue15-helpers/second-rig.js";

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
