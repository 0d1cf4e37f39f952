/**
 * Issue 13.1 attack: every cookie value now goes through `Persistence.open`. Hostile values,
 * through `sessions.load` (a cookie jar hands the value over as it is, a Cookie header as the
 * parser reads it) and `sessions.get(token)`, on a server store and a cookie store: always a
 * fresh session (or null from `get`), never a throw, no store lookup for a malformed value, and
 * the right event (decision 13.1: `get(malformed)` emits `tampered` on server stores too).
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader, tokenOf } from "../helpers/cookies.js";
import { countingStore } from "../helpers/counting-store.js";

const A = "secret-A-secret-A-secret-A-secret-A-0001";
const schema = z.object({ userId: z.string().optional() });

function rig(kind: "memory" | "cookie", name = "sid") {
  const events: SessionEvent["type"][] = [];
  const counted = countingStore(kind === "memory" ? memoryStore() : cookieStore({ secrets: [A] }));
  const sessions = defineSession({
    schema,
    store: counted.store,
    cookie: { name, secure: true },
    onEvent: (event) => events.push(event.type),
  });
  return { sessions, events, calls: counted.calls, reset: counted.reset };
}

const hostile: Record<string, string> = {
  "lone high surrogate": "\uD800",
  "lone low surrogate inside base64url": `${"A".repeat(21)}\uDC00${"A".repeat(21)}`,
  NUL: "abc\u0000def",
  "NUL-padded token length": "\u0000".repeat(43),
  ["__proto__"]: "__proto__",
  constructor: "constructor",
  "10 KB": "a".repeat(10 * 1024),
  "10 MB": "a".repeat(10 * 1024 * 1024),
  "dot-separated junk": "a.b.c.d",
  "percent-encoded": "%41%41%41",
  empty: "",
};

const jar = (value: string) => ({ get: (name: string) => (name === "sid" ? { value } : undefined) });

for (const kind of ["memory", "cookie"] as const) {
  describe(`issue 13 hostile cookie values: ${kind} store`, () => {
    for (const [label, value] of Object.entries(hostile)) {
      it(`load(${label}) from a cookie jar: a fresh session, tampered, no store lookup`, async () => {
        const r = rig(kind);
        const s = await r.sessions.load(jar(value));
        expect(s.isNew).toBe(true);
        expect(s.get("userId")).toBeUndefined();
        expect(r.events).toEqual(["tampered"]);
        if (kind === "memory") expect(r.calls.get).toBe(0);
        // The fresh session works, and clears the hostile cookie if it is destroyed.
        s.set("userId", "u1");
        const sent = await s.commit();
        expect(sent).toHaveLength(1);
        expect(cookieHeader(sent)).not.toContain(value.slice(0, 16) || "\u0000");
      });

      it(`get(${label}): null, tampered, never a throw`, async () => {
        const r = rig(kind);
        expect(await r.sessions.get(value)).toBeNull();
        expect(r.events).toEqual(["tampered"]);
        if (kind === "memory") expect(r.calls.get).toBe(0);
      });
    }

    if (kind === "memory") {
      it("destroy(hostile) for every hostile value: false, no throw, no store lookup, no event", async () => {
        const r = rig(kind);
        for (const value of Object.values(hostile)) expect(await r.sessions.destroy(value)).toBe(false);
        expect(r.calls.get).toBe(0);
        expect(r.calls.delete).toBe(0);
        expect(r.events).toEqual([]);
      });
    }

    it("load from a Cookie header holding __proto__= and constructor= pairs beside no session cookie: fresh, no event", async () => {
      const r = rig(kind);
      const s = await r.sessions.load("__proto__=x; constructor=y; toString=z");
      expect(s.isNew).toBe(true);
      expect(r.events).toEqual([]);
    });

    it("a 10 MB Cookie header: fresh, tampered, and no throw", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(`sid=${"b".repeat(10 * 1024 * 1024)}`);
      expect(s.isNew).toBe(true);
      expect(r.events).toEqual(["tampered"]);
    });

    it("destroy() of a fresh session loaded from a hostile cookie sends the clearing cookie", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(jar("\uD800"));
      await s.destroy();
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(sent[0]?.startsWith("sid=;")).toBe(true);
    });
  });
}

describe("issue 13 hostile values: another manager's cookie", () => {
  it("server store: a well-formed token the store does not hold is unknown (load and get), not tampered", async () => {
    const other = rig("memory", "other");
    const s0 = await other.sessions.load(undefined);
    s0.set("userId", "u1");
    const token = tokenOf(await s0.commit());
    const r = rig("memory");
    const s = await r.sessions.load(`sid=${token}`);
    expect(s.isNew).toBe(true);
    expect(await r.sessions.get(token)).toBeNull();
    expect(r.events).toEqual(["unknown", "unknown"]);
  });

  it("cookie store: a seal made under the same secrets for another cookie name does not open (tampered), through load and get", async () => {
    const other = rig("cookie", "other");
    const s0 = await other.sessions.load(undefined);
    s0.set("userId", "u1");
    const value = tokenOf(await s0.commit());
    expect((await other.sessions.get(value))?.get("userId")).toBe("u1");
    const r = rig("cookie");
    const s = await r.sessions.load(`sid=${value}`);
    expect(s.isNew).toBe(true);
    expect(s.get("userId")).toBeUndefined();
    expect(await r.sessions.get(value)).toBeNull();
    expect(r.events).toEqual(["tampered", "tampered"]);
  });

  it("a valid token passed to get() loads the session but it sends no cookie until something changes", async () => {
    for (const kind of ["memory", "cookie"] as const) {
      const r = rig(kind);
      const s0 = await r.sessions.load(undefined);
      s0.set("userId", "u1");
      const value = tokenOf(await s0.commit());
      const s = await r.sessions.get(value);
      expect(s?.get("userId")).toBe("u1");
      expect(await s?.commit()).toEqual([]);
    }
  });
});
