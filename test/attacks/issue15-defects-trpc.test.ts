/**
 * Defect on issue 15.5 through tRPC's httpBatchStreamLink: the headers go out before the commit,
 * so the commit's rotation of a legacy session cannot deliver its new token.
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
