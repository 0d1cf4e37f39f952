/**
 * Attacks on issue 15.5 in the core (memory store, real cookie-signature): forged and hostile
 * legacy cookies, what a known sid or a Tessera token reaches, the once-only rule against
 * revoke, absoluteMaxAge and re-imports, and importSessions' own options.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { withSession } from "../../src/adapters/fetch.js";
import { expressSessionCookie, importSessions, type LegacyRecord, type LegacySource } from "../../src/express-session/index.js";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };

const SECRET = "issue15 attack secret";
const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.string()).default([]),
  blob: z.unknown().optional(),
});

const signed = (sid: string, secret = SECRET) => `s:${signature.sign(sid, secret)}`;
const legacyCookie = (sid: string, secret = SECRET) => `connect.sid=${encodeURIComponent(signed(sid, secret))}`;
const tesseraPair = (headers: string[]) => headers.find((value) => value.startsWith("__Host-sid="))?.split(";")[0];

function setup(options: { absoluteMaxAge?: number; maxAge?: number; now?: () => number } = {}) {
  const map = new Map();
  const events: SessionEvent[] = [];
  const sessions = defineSession({
    schema,
    store: memoryStore({ map }),
    legacy: expressSessionCookie({ secrets: SECRET }),
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { sessions, map, events };
}

/** A LegacySource over records in memory: the public seam importSessions reads through. */
function arraySource(records: LegacyRecord[], batch = 2): LegacySource {
  return {
    count: async () => records.length,
    async *batches() {
      for (let i = 0; i < records.length; i += batch) yield records.slice(i, i + batch);
    },
  };
}

describe("forged legacy cookies", () => {
  it("accepts the quoted form express-session accepts (the cookie parser strips the quotes)", async () => {
    const { sessions } = setup();
    await sessions.importLegacy({ sid: "quoted", data: { userId: "u_q" }, expiresAt: null });
    const value = encodeURIComponent(signed("quoted"));
    expect((await sessions.load(`connect.sid="${value}"`)).get("userId")).toBe("u_q");
  });

  it("an express-session cookie named __Secure-… (or __Host-…) can be the legacy cookie, and is cleared with Secure", async () => {
    for (const name of ["__Secure-sid", "__Host-connect.sid"]) {
      const sessions = defineSession({ schema, store: memoryStore(), legacy: expressSessionCookie({ secrets: SECRET, name }) });
      await sessions.importLegacy({ sid: "prefixed", data: { userId: "u_p" }, expiresAt: null });
      const session = await sessions.load(`${name}=${encodeURIComponent(signed("prefixed"))}`);
      expect(session.get("userId")).toBe("u_p");
      const clearing = (await session.commit()).find((value) => value.startsWith(`${name}=;`));
      // A browser ignores a __Secure-/__Host- Set-Cookie without Secure: the old cookie would never be cleared.
      expect(clearing).toMatch(/; Secure/i);
    }
  });
});

describe("accepted once, whatever the operator does afterwards", () => {
  it("an unclaimed imported session revoked by `revoke` stays revoked when the import is run again", async () => {
    const { sessions } = setup();
    const legacy = { sid: "revoked-sid", data: { userId: "mallory-victim" }, expiresAt: new Date(Date.now() + 86_400_000) };
    expect(await sessions.importLegacy(legacy)).toBe("created");
    // "Log out everywhere" after a password change: reaches the unclaimed imported session too.
    expect(await sessions.revoke({ where: { userId: "mallory-victim" } })).toBe(1);
    expect((await sessions.load(legacyCookie("revoked-sid"))).has("userId")).toBe(false);
    // The operator re-runs the import (docs: "a second run imports only what is new"); the old
    // store still holds the session until its TTL.
    await sessions.importLegacy(legacy);
    expect((await sessions.load(legacyCookie("revoked-sid"))).has("userId")).toBe(false);
  });

  it("a claimed session is not revived by a re-import once absoluteMaxAge ended its shadow", async () => {
    const clock = testClock(Date.now());
    const { sessions } = setup({ absoluteMaxAge: 3600, now: clock.now });
    // The old store keeps the session 14 days; absoluteMaxAge caps the imported copy at an hour.
    const legacyExpiry = () => new Date(Date.now() + 14 * 86_400_000);
    await sessions.importLegacy({ sid: "claimed", data: { userId: "alice" }, expiresAt: legacyExpiry() });
    const claim = await sessions.load(legacyCookie("claimed"));
    expect(claim.get("userId")).toBe("alice");
    expect(tesseraPair(await claim.commit())).toBeDefined();
    clock.advance(2 * 3600);
    await sessions.purgeExpired();
    // A re-run of the import (the old Redis still holds the key, 13 days left).
    await sessions.importLegacy({ sid: "claimed", data: { userId: "alice" }, expiresAt: legacyExpiry() });
    expect((await sessions.load(legacyCookie("claimed"))).has("userId")).toBe(false);
  });

  it("a claimed session whose legacy store kept no expiry is not revived by a re-import after maxAge", async () => {
    const clock = testClock(Date.now());
    const { sessions } = setup({ maxAge: 3600, now: clock.now });
    // connect-redis with disableTTL, or a cookie without expires: expiresAt null (maxAge from now).
    await sessions.importLegacy({ sid: "forever", data: { userId: "bob" }, expiresAt: null });
    await (await sessions.load(legacyCookie("forever"))).commit();
    // Past the follow window after the claim (followSeconds, 20 s by default: docs/decisions.md).
    clock.advance(30);
    expect((await sessions.load(legacyCookie("forever"))).has("userId")).toBe(false);
    clock.advance(2 * 3600);
    await sessions.purgeExpired();
    await sessions.importLegacy({ sid: "forever", data: { userId: "bob" }, expiresAt: null });
    expect((await sessions.load(legacyCookie("forever"))).has("userId")).toBe(false);
  });
});

describe("importSessions against hostile and careless input", () => {
  const later = new Date(Date.now() + 3_600_000);

  it("an unusable concurrency is refused rather than importing nothing and reporting success", async () => {
    for (const concurrency of [0, -1, Number.NaN]) {
      const { sessions, map } = setup();
      const source = arraySource([{ sid: "c1", json: JSON.stringify({ userId: "u" }), expiresAt: later }]);
      let outcome: unknown;
      try {
        outcome = await importSessions(sessions, source, { concurrency });
      } catch (error) {
        outcome = error;
      }
      // Either refused (a TesseraError) or it imported the one session: never a silent no-op.
      const refused = outcome instanceof Error && "code" in outcome;
      expect(refused || map.size === 1, `concurrency ${concurrency}: ${JSON.stringify(outcome)}`).toBe(true);
    }
  });

  it("two imports run at once (two deploy hooks) both finish, and every session is imported once", async () => {
    const { sessions, map } = setup();
    const records: LegacyRecord[] = Array.from({ length: 50 }, (_, i) => ({
      sid: `twice-${i}`,
      json: JSON.stringify({ cookie: {}, userId: `u${i}` }),
      expiresAt: later,
    }));
    const [a, b] = await Promise.allSettled([
      importSessions(sessions, arraySource(records, 10)),
      importSessions(sessions, arraySource(records, 10)),
    ]);
    expect(a.status, a.status === "rejected" ? String(a.reason) : "").toBe("fulfilled");
    expect(b.status, b.status === "rejected" ? String(b.reason) : "").toBe("fulfilled");
    // Sessions, not the import marker each one has beside it (a shadow).
    expect([...map.values()].filter((record) => record.successorId === null).length).toBe(50);
  });
});

describe("a request its client abandoned", () => {
  it("fetch: a request aborted before its response does not use up the legacy cookie", async () => {
    const { sessions } = setup();
    await sessions.importLegacy({ sid: "aborted", data: { userId: "dora" }, expiresAt: null });
    const controller = new AbortController();
    const slow = withSession(sessions, async (_request, session) => {
      controller.abort(); // the browser navigated away while the page was rendering
      return Response.json({ userId: session.get("userId") ?? null });
    });
    await slow(new Request("http://x/", { headers: { cookie: legacyCookie("aborted") }, signal: controller.signal }));
    // Nobody received the new token: the old cookie must still log the user in.
    expect((await sessions.load(legacyCookie("aborted"))).get("userId")).toBe("dora");
  });
});
