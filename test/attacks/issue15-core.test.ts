/**
 * Attacks on issue 15.5 in the core (memory store, real cookie-signature): forged and hostile
 * legacy cookies, what a known sid or a Tessera token reaches, the once-only rule against
 * revoke, absoluteMaxAge and re-imports, and importSessions' own options.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { withSession } from "../../src/adapters/fetch.js";
import {
  expressSessionCookie,
  type ImportRejection,
  importSessions,
  type LegacyRecord,
  type LegacySource,
} from "../../src/express-session/index.js";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { legacyStoreId } from "../../src/token.js";
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
  const cookie = expressSessionCookie({ secrets: [SECRET] });
  const sig = signature.sign("victim", SECRET).split(".").pop() as string;

  it("refuses every value a forger can make without the secret", () => {
    const hostile = [
      `s:victim.`, // empty signature
      `s:victim`, // no signature
      `victim.${sig}`, // `s:` missing
      `S:victim.${sig}`, // prefix case
      `s:victim.${sig.slice(0, 42)}`, // truncated
      `s:victim.${sig}=`, // base64 padding kept
      `s:victim.${sig.replace(/\+/g, "-").replace(/\//g, "_")}${/[+/]/.test(sig) ? "" : "x"}`, // base64url variant (or one char more)
      `s:victima.${sig}`, // the signature of another sid
      `s:victim.${sig} `, // trailing space
      ` s:victim.${sig}`,
      encodeURIComponent(encodeURIComponent(`s:victim.${sig}`)), // double-encoded
      `s:victim.${signature.sign("victim", "").split(".").pop()}`, // signed with an empty secret
      `s:victim.${signature.sign("victim", `${SECRET} `).split(".").pop()}`,
      `s:vic\u0000tim.${sig}`,
      `s:victim\ud800.${sig}`,
    ];
    for (const value of hostile) expect(cookie.verify(value), JSON.stringify(value).slice(0, 60)).toBeNull();
    expect(cookie.verify(`s:victim.${sig}`)).toBe("victim");
  });

  it("verifies what cookie-signature signed with a non-ASCII secret over a non-ASCII sid", () => {
    const secret = "s\u00e9cret \u{1F511} \u65e5\u672c";
    const cookie = expressSessionCookie({ secrets: secret });
    for (const sid of ["caf\u00e9", "\u65e5\u672c\u8a9e", "plain"]) {
      expect(cookie.verify(encodeURIComponent(`s:${signature.sign(sid, secret)}`))).toBe(sid);
    }
    // The same bytes under a Latin-1 reading of the secret do not verify.
    expect(cookie.verify(encodeURIComponent(`s:${signature.sign("plain", Buffer.from(secret).toString("latin1"))}`))).toBeNull();
  });

  it("refuses an empty secret in any position at start-up", () => {
    expect(() => expressSessionCookie({ secrets: [SECRET, ""] })).toThrow(/secrets/);
    expect(() => expressSessionCookie({ secrets: ["", SECRET] })).toThrow(/secrets/);
    expect(() => expressSessionCookie({ secrets: [] })).toThrow(/secrets/);
    expect(() => expressSessionCookie(undefined as never)).toThrow(/secrets/);
  });

  it("a 1 MB Cookie header of legacy cookies is a fresh session, quickly; the first of several wins", async () => {
    const { sessions, events } = setup();
    await sessions.importLegacy({ sid: "first", data: { userId: "u_first" }, expiresAt: null });
    await sessions.importLegacy({ sid: "second", data: { userId: "u_second" }, expiresAt: null });
    const junk = Array.from({ length: 20_000 }, (_, i) => `connect.sid=s%3A${i}.${"A".repeat(43)}`).join("; ");
    expect(junk.length).toBeGreaterThan(1_000_000);
    const started = performance.now();
    const session = await sessions.load(junk);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(session.isNew).toBe(true);
    expect(events.filter((event) => event.type === "tampered")).toHaveLength(1);
    // A 1 MB single value: refused before any HMAC.
    expect((await sessions.load(`connect.sid=s%3A${"a".repeat(1_048_576)}.${"A".repeat(43)}`)).isNew).toBe(true);
    // Two legacy cookies: the first is the one (as express-session's parser); the second is never tried.
    const both = await sessions.load(`${legacyCookie("first")}; ${legacyCookie("second")}`);
    expect(both.get("userId")).toBe("u_first");
    const forgedFirst = await sessions.load(`${legacyCookie("second", "forged")}; ${legacyCookie("second")}`);
    expect(forgedFirst.has("userId")).toBe(false);
  });
});

describe("what a known sid, a store id or a Tessera token reaches", () => {
  it("a Tessera cookie, even one naming nothing, means the legacy cookie is not looked at (and stays claimable)", async () => {
    const { sessions } = setup();
    await sessions.importLegacy({ sid: "both", data: { userId: "u_both" }, expiresAt: null });
    for (const tessera of ["__Host-sid=junk", `__Host-sid=${"A".repeat(43)}`]) {
      const session = await sessions.load(`${tessera}; ${legacyCookie("both")}`);
      expect(session.has("userId")).toBe(false);
      session.set("cart", ["anonymous"]);
      const headers = await session.commit();
      // No claim happened, so the legacy cookie is not cleared either.
      expect(headers.some((value) => value.startsWith("connect.sid="))).toBe(false);
    }
    expect((await sessions.load(legacyCookie("both"))).get("userId")).toBe("u_both");
  });

  it("a sid from the old store's keys reaches nothing without its signature, through any door", async () => {
    const { sessions, map } = setup();
    const sid = "Xk2pQ9sLeakedFromRedisKeys_0123";
    await sessions.importLegacy({ sid, data: { userId: "victim" }, expiresAt: null });
    const storeId = legacyStoreId(sid);
    expect(map.has(storeId)).toBe(true);
    for (const header of [
      `connect.sid=${sid}`,
      `connect.sid=s%3A${sid}`,
      `__Host-sid=${sid}`,
      `__Host-sid=${storeId}`,
      `__Host-sid=${storeId.slice(0, 43)}`,
    ]) {
      expect((await sessions.load(header)).has("userId"), header).toBe(false);
    }
    expect(await sessions.get(sid)).toBeNull();
    expect(await sessions.get(storeId)).toBeNull();
    expect(await sessions.destroy(storeId)).toBe(false);
    expect(map.has(storeId)).toBe(true);
  });

  it("two sids never share a store id, and an imported id is never a token's", async () => {
    const ids = new Set<string>();
    for (const sid of ["a", "a ", "A", "tessera.legacy:a", "", "\u0000", "é", "e\u0301"]) ids.add(legacyStoreId(sid));
    expect(ids.size).toBe(8);
    const { sessions, map } = setup();
    const own = await sessions.load(null);
    own.set("userId", "tessera user");
    const token = (tesseraPair(await own.commit()) as string).split("=")[1] as string;
    // Importing under the token as sid never overwrites nor reaches the Tessera session.
    expect(await sessions.importLegacy({ sid: token, data: { userId: "intruder" }, expiresAt: null })).toBe("created");
    expect((await sessions.get(token))?.get("userId")).toBe("tessera user");
    // Records, not counting the import marker each imported session has beside it (a shadow).
    expect([...map.values()].filter((record) => record.successorId === null).length).toBe(2);
  });
});

describe("accepted once, whatever the operator does afterwards", () => {
  it("a handler that fails commits nothing: the legacy cookie still works on the next request", async () => {
    const { sessions } = setup();
    await sessions.importLegacy({ sid: "fails", data: { userId: "carol" }, expiresAt: null });
    const failing = withSession(sessions, () => {
      throw new Error("handler bug");
    });
    await expect(failing(new Request("http://x/", { headers: { cookie: legacyCookie("fails") } }))).rejects.toThrow(
      "handler bug",
    );
    const five = withSession(sessions, () => new Response("oops", { status: 503 }));
    const answered = await five(new Request("http://x/", { headers: { cookie: legacyCookie("fails") } }));
    expect(answered.headers.getSetCookie()).toEqual([]);
    const ok = withSession(sessions, (_request, session) => Response.json({ userId: session.get("userId") ?? null }));
    const response = await ok(new Request("http://x/", { headers: { cookie: legacyCookie("fails") } }));
    expect(await response.json()).toEqual({ userId: "carol" });
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(response.headers.getSetCookie().some((value) => /^connect\.sid=;.*Max-Age=0/i.test(value))).toBe(true);
  });
});

describe("importSessions against hostile and careless input", () => {
  const later = new Date(Date.now() + 3_600_000);

  it("prototype keys and superjson-looking data neither pollute nor come back as something else", async () => {
    const { sessions } = setup();
    const rejections: ImportRejection[] = [];
    const records: LegacyRecord[] = [
      { sid: "proto-aaaaaaaa", json: '{"__proto__":{"userId":"admin","polluted":true}}', expiresAt: later },
      { sid: "ctor-aaaaaaaaa", json: '{"constructor":{"prototype":{"polluted":true}}}', expiresAt: later },
      {
        sid: "superjson-aaaa",
        json: JSON.stringify({
          userId: "u_sj",
          blob: { json: { when: "2020-01-01T00:00:00.000Z" }, meta: { values: { when: ["Date"] } } },
        }),
        expiresAt: later,
      },
    ];
    const result = await importSessions(sessions, arraySource(records), { onReject: (line) => rejections.push(line) });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).userId).toBeUndefined();
    expect(result).toMatchObject({ read: 3, imported: 1, rejected: 2 });
    expect(rejections.map((line) => line.reason)).toEqual(["schema", "schema"]);
    const session = await sessions.load(legacyCookie("superjson-aaaa"));
    expect(session.get("userId")).toBe("u_sj");
    expect(session.get("blob")).toEqual({ json: { when: "2020-01-01T00:00:00.000Z" }, meta: { values: { when: ["Date"] } } });
  });

  it("cookie.expires past Date's range or of the wrong type never throws; a past one is expired", async () => {
    const { sessions } = setup();
    const withCookie = (sid: string, expires: unknown): LegacyRecord => ({
      sid,
      json: JSON.stringify({ cookie: { expires }, userId: sid }),
      expiresAt: null,
    });
    const result = await importSessions(
      sessions,
      arraySource([
        withCookie("range-hi-aaaaaa", "+275761-01-01T00:00:00.000Z"),
        withCookie("range-lo-aaaaaa", -8.64e15 - 1),
        withCookie("bool-aaaaaaaaaa", true),
        withCookie("past-aaaaaaaaaa", "2001-01-01T00:00:00.000Z"),
        withCookie("zero-aaaaaaaaaa", 0),
        withCookie("max-aaaaaaaaaaa", "+275760-09-13T00:00:00.000Z"),
      ]),
    );
    expect(result.reasons.expired).toBe(2);
    expect(result.imported).toBe(4);
  });

  it("the report line carries a quarter of the sid at most, and nothing of the data", async () => {
    const { sessions } = setup();
    const lines: string[] = [];
    const sid = "S3cretSessionIdS3cretSessionId42";
    await importSessions(
      sessions,
      arraySource([{ sid, json: JSON.stringify({ userId: 42, cart: ["card 4111 1111 1111 1111"] }), expiresAt: later }]),
      { onReject: (line) => lines.push(JSON.stringify(line)) },
    );
    expect(lines).toHaveLength(1);
    const line = lines[0] as string;
    expect(line).not.toContain(sid.slice(0, 9));
    expect(line).not.toContain("4111");
    expect(line).not.toContain("42,");
  });
});

describe("fixed after the attack: the core", () => {
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
});
