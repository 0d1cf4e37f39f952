/**
 * Defects an attack on issue 13's seam found (C-attack), each fixed in the commit that adds this
 * file; every test here failed before it.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, SessionInterruptedError } from "../../src/index.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";

const schema = z.object({ userId: z.string().optional(), note: z.string().optional() });

describe("C-attack defect: a revoked session is recreated under its old token", () => {
  it("a read-only save finds the session revoked (touch fails); a later write in the same request must not bring it back under the old cookie with the old data", async () => {
    const clock = testClock();
    const sessions = defineSession({
      schema,
      store: memoryStore(),
      cookie: { name: "sid", secure: true },
      now: clock.now,
      touchAfter: "1m",
    });
    const s0 = await sessions.load(undefined);
    s0.set("userId", "victim");
    const cookie = cookieHeader(await s0.commit());

    clock.advance(120);
    // A tRPC batch (or a Server Action saving twice): one session object, several commits.
    const s = await sessions.load(cookie);
    // Meanwhile another request logs the user out everywhere.
    expect(await sessions.revoke({ where: { userId: "victim" } })).toBe(1);
    // Procedure 1 only read: its commit is the throttled touch, which finds the record gone.
    expect(await s.commit()).toEqual([]);
    // Procedure 2 writes.
    s.set("note", "hello");
    const sent = await s.commit().catch((error: unknown) => {
      expect(error).toBeInstanceOf(SessionInterruptedError);
      return [] as string[];
    });
    // The revoked cookie must stay dead, and the revoked identity must not come back under any cookie.
    expect((await sessions.load(cookie)).get("userId")).toBeUndefined();
    if (sent.length > 0) expect((await sessions.load(cookieHeader(sent))).get("userId")).toBeUndefined();
  });
});

describe("C-attack defect: a cookie store's operator stopped checking its call-time arguments (72b5290)", () => {
  const A = "secret-A-secret-A-secret-A-secret-A-0001";
  // Before 72b5290 a cookie store's operator was createOperator over the client-side stub, so these
  // threw SESSION_USAGE exactly as on a server store; sealedOperator now returns 0 / null without a check,
  // so a bad call passes in development on a cookie store and throws in production on a server store.
  for (const [name, call] of [
    ["purge({ batchSize: 0 })", (s: ReturnType<typeof sessions>) => s.operator.purge({ batchSize: 0 })],
    ["purge({ batchSize: NaN })", (s: ReturnType<typeof sessions>) => s.operator.purge({ batchSize: Number.NaN })],
    ["stats({ top: -1 })", (s: ReturnType<typeof sessions>) => s.operator.stats({ top: -1 })],
  ] as const) {
    it(`${name} throws SESSION_USAGE on a cookie store as on a memory store`, async () => {
      await expect(call(sessions(memoryStore()))).rejects.toMatchObject({ code: "SESSION_USAGE" });
      await expect(call(sessions(cookieStore({ secrets: [A] })))).rejects.toMatchObject({ code: "SESSION_USAGE" });
    });
  }
});

function sessions(store: Parameters<typeof defineSession>[0]["store"]) {
  return defineSession({ schema, store });
}

describe("C-attack defect: revoke({ except }) with a non-object throws a bare TypeError (a2f3fd3 says SESSION_USAGE)", () => {
  // src/session.ts stateOf: `#state in session` throws TypeError on a primitive ("Cannot use 'in' operator").
  for (const except of [null, "a-token-string", 42]) {
    it(`except: ${JSON.stringify(except)} is a SessionUsageError and deletes nothing`, async () => {
      const manager = sessions(memoryStore());
      const s = await manager.load(undefined);
      s.set("userId", "u1");
      const cookie = cookieHeader(await s.commit());
      await expect(manager.revoke({ where: { userId: "u1" }, except: except as never })).rejects.toMatchObject({
        code: "SESSION_USAGE",
      });
      expect((await manager.load(cookie)).get("userId")).toBe("u1");
    });
  }
});
