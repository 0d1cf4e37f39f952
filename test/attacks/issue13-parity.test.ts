/**
 * Issue 13.1 attack: the server store and the cookie store now share one seam (Persistence,
 * SessionState). Sequences the contract suite does not run, on both kinds, through the public
 * API: the cookies a response sends, the store writes it costs, the events, and what the next
 * request loads.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent, type SessionOptions } from "../../src/index.js";
import type { SessionStore } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { attribute, cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";

const A = "secret-A-secret-A-secret-A-secret-A-0001";
const B = "secret-B-secret-B-secret-B-secret-B-0002";
const schema = z.object({ userId: z.string().optional(), note: z.string().optional() });
type Options = Partial<Omit<SessionOptions<typeof schema>, "store" | "schema">>;

function rig(kind: "memory" | "cookie", options: Options = {}, secrets = [A]) {
  const clock = testClock();
  const events: SessionEvent["type"][] = [];
  const counted = countingStore(kind === "memory" ? memoryStore() : cookieStore({ secrets }));
  const sessions = defineSession({
    schema,
    store: counted.store,
    cookie: { name: "sid", secure: true },
    now: clock.now,
    onEvent: (event) => events.push(event.type),
    ...options,
  });
  const wrote = () => (kind === "memory" ? writes(counted.calls) : 0);
  const reset = () => {
    counted.reset();
    events.length = 0;
  };
  // A cookie store's calls are counted by the same wrapper under its own method names (seal, open).
  const calls = counted.calls as Record<string, number>;
  return { sessions, clock, events, wrote, reset, calls };
}

async function signedIn(r: ReturnType<typeof rig>, userId = "u1"): Promise<string> {
  const s = await r.sessions.load(undefined);
  s.set("userId", userId);
  return cookieHeader(await s.commit());
}

const isClearing = (header: string) => header.startsWith("sid=;") && attribute(header, "Max-Age") === "0";

for (const kind of ["memory", "cookie"] as const) {
  const server = kind === "memory";
  describe(`issue 13 seam parity: ${kind} store`, () => {
    it("rotate() then destroy() in one request: one clearing cookie, events rotated then destroyed, nothing loads from the new cookie", async () => {
      const r = rig(kind);
      const cookie = await signedIn(r);
      r.reset();
      const s = await r.sessions.load(cookie);
      await s.rotate();
      await s.destroy();
      expect(s.isNew).toBe(true);
      expect(s.get("userId")).toBeUndefined();
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(isClearing(sent[0] as string)).toBe(true);
      expect(r.events).toEqual(["rotated", "destroyed"]);
      if (server) {
        // The rotated record is gone too: not left behind as an orphan row under the new id.
        expect((await r.sessions.load(cookie)).isNew).toBe(true);
        expect(r.calls.rotate).toBe(1);
        expect(r.calls.delete).toBe(1);
      }
    });

    it("destroy() then set(): a fresh session with a new cookie value, none of the old data, and the old cookie (server) dead", async () => {
      const r = rig(kind);
      const cookie = await signedIn(r);
      const s = await r.sessions.load(cookie);
      await s.destroy();
      s.set("note", "after");
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      const next = cookieHeader(sent);
      expect(next).not.toBe(cookie);
      expect(next.length).toBeGreaterThan("sid=".length);
      const loaded = await r.sessions.load(next);
      expect(loaded.isNew).toBe(false);
      expect(loaded.get("note")).toBe("after");
      expect(loaded.get("userId")).toBeUndefined();
      if (server) expect((await r.sessions.load(cookie)).isNew).toBe(true);
    });

    it("rotate() on a never-saved empty session: nothing written, no cookie, no rotated event; a later set() creates one session", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      await s.rotate();
      expect(await s.commit()).toEqual([]);
      expect(r.wrote()).toBe(0);
      expect(r.events).toEqual([]);
      s.set("userId", "u2");
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(r.events).toEqual(["created"]);
      expect((await r.sessions.load(cookieHeader(sent))).get("userId")).toBe("u2");
    });

    it("rotate() on a new session with data: one create, one cookie, no rotated event", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      s.set("userId", "u3");
      await s.rotate();
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(r.events).toEqual(["created"]);
      if (server) {
        expect(r.calls.create).toBe(1);
        expect(r.calls.rotate).toBe(0);
      }
      expect((await r.sessions.load(cookieHeader(sent))).get("userId")).toBe("u3");
    });

    it("B14: setExpiry(pastDate) on a new session without a cookie writes nothing and sends nothing", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      s.set("userId", "u1");
      s.setExpiry(new Date(r.clock.now() - 1000));
      expect(await s.commit()).toEqual([]);
      expect(r.wrote()).toBe(0);
      expect(r.events).toEqual([]);
    });

    it("B14: setExpiry(pastDate) on a new session of a request that sent a bad cookie clears that cookie and writes nothing", async () => {
      const r = rig(kind);
      const s = await r.sessions.load("sid=not-a-session");
      s.set("userId", "u1");
      s.setExpiry(new Date(r.clock.now() - 1000));
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(isClearing(sent[0] as string)).toBe(true);
      expect(r.wrote()).toBe(0);
    });

    it("B14: setExpiry(pastDate) on a stored session: the browser's cookie goes (Max-Age=0); what it sends loads nothing (server: nor does the old cookie)", async () => {
      const r = rig(kind);
      const cookie = await signedIn(r);
      r.reset();
      const s = await r.sessions.load(cookie);
      s.setExpiry(new Date(r.clock.now() - 1000));
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(attribute(sent[0] as string, "Max-Age")).toBe("0");
      expect((await r.sessions.load(cookieHeader(sent))).isNew).toBe(true);
      // A cookie store cannot kill a cookie it issued (docs/stores.md); only the server can.
      if (server) {
        expect((await r.sessions.load(cookie)).isNew).toBe(true);
        expect(isClearing(sent[0] as string)).toBe(true);
        expect(r.events).toContain("destroyed");
        expect(r.calls.delete).toBe(1);
        expect([r.calls.patch, r.calls.replace, r.calls.create]).toEqual([0, 0, 0]);
      }
    });

    it("commit() twice: the second writes nothing and sends the same cookie again (what a tRPC batch replaces)", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      s.set("userId", "u1");
      const first = await s.commit();
      r.reset();
      const second = await s.commit();
      expect(r.wrote()).toBe(0);
      expect(r.calls.seal ?? 0).toBe(0);
      expect(second).toEqual(first);
      expect(r.events).toEqual([]);
    });

    it("concurrent commit() and rotate() on one new session: they queue; the last commit's cookie loads the data, the first cookie (server) is dead", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      s.set("userId", "u1");
      const [first] = await Promise.all([s.commit(), s.rotate()]);
      expect(first).toHaveLength(1);
      const last = await s.commit();
      expect(last).toHaveLength(1);
      expect(cookieHeader(last)).not.toBe(cookieHeader(first));
      expect(r.events).toEqual(["created", "rotated"]);
      expect((await r.sessions.load(cookieHeader(last))).get("userId")).toBe("u1");
      if (server) {
        expect((await r.sessions.load(cookieHeader(first))).isNew).toBe(true);
        expect(r.calls.create).toBe(1);
        expect(r.calls.rotate).toBe(1);
      }
    });

    it("two concurrent commits of one new session (a tRPC batch): one create, the same cookie from both", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      s.set("userId", "u1");
      const [a, b] = await Promise.all([s.commit(), s.commit()]);
      expect(a).toHaveLength(1);
      expect(b).toEqual(a);
      expect(r.events).toEqual(["created"]);
      if (server) expect(r.calls.create).toBe(1);
      else expect(r.calls.seal).toBe(1);
    });

    it("concurrent destroy() and commit() of a new session: the commit queued first creates it, the destroy then removes it, the next commit clears", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      s.set("userId", "u1");
      const [created] = await Promise.all([s.commit(), s.destroy()]);
      expect(created).toHaveLength(1);
      const sent = await s.commit();
      expect(sent).toHaveLength(1);
      expect(isClearing(sent[0] as string)).toBe(true);
      expect(r.events).toEqual(["created", "destroyed"]);
      if (server) expect((await r.sessions.load(cookieHeader(created))).isNew).toBe(true);
    });

    it("concurrent rotate() and commit() on a stored session: the commit waits for the rotation and sends the new cookie", async () => {
      const r = rig(kind);
      const cookie = await signedIn(r);
      const s = await r.sessions.load(cookie);
      const [, sent] = await Promise.all([s.rotate(), s.commit()]);
      expect(sent).toHaveLength(1);
      expect(cookieHeader(sent)).not.toBe(cookie);
      expect((await r.sessions.load(cookieHeader(sent))).get("userId")).toBe("u1");
      if (server) expect((await r.sessions.load(cookie)).isNew).toBe(true);
    });
  });
}

describe("issue 13 seam: a cookie sealed under a previous secret", () => {
  it("destroy() of a session sealed under the old secret sends only the clearing cookie (no re-seal of the dead session)", async () => {
    const cookie = await signedIn(rig("cookie", {}, [A]));
    const r = rig("cookie", {}, [B, A]);
    const s = await r.sessions.load(cookie);
    expect(s.get("userId")).toBe("u1");
    await s.destroy();
    const sent = await s.commit();
    expect(sent).toHaveLength(1);
    expect(isClearing(sent[0] as string)).toBe(true);
    expect(r.calls.seal).toBe(0);
    expect(r.events).toEqual(["destroyed"]);
  });

  it("rotate() of a session sealed under the old secret sends one cookie sealed under the new secret", async () => {
    const cookie = await signedIn(rig("cookie", {}, [A]));
    const r = rig("cookie", {}, [B, A]);
    const s = await r.sessions.load(cookie);
    const before = s.tag;
    await s.rotate();
    const sent = await s.commit();
    expect(sent).toHaveLength(1);
    expect(r.calls.seal).toBe(1);
    // Loads under B alone: it was re-sealed, not sent back as it came.
    const onlyB = rig("cookie", {}, [B]);
    const loaded = await onlyB.sessions.load(cookieHeader(sent));
    expect(loaded.get("userId")).toBe("u1");
    expect(loaded.tag).toBe(s.tag);
    expect(loaded.tag).not.toBe(before);
  });
});

/** A real memoryStore whose named method throws once, the next time it is called. */
function failingOnce(store: SessionStore) {
  const armed = new Set<string>();
  const members = store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const wrapped: Record<string, unknown> = { ...members };
  for (const name of Object.keys(store)) {
    const method = members[name];
    if (typeof method !== "function") continue;
    wrapped[name] = async (...args: unknown[]) => {
      if (armed.delete(name)) throw new Error(`${name} failed (injected)`);
      return method.apply(store, args);
    };
  }
  return { store: wrapped as unknown as SessionStore, fail: (name: keyof SessionStore) => armed.add(name) };
}

describe("issue 13 seam: a store write that fails leaves the session consistent, and a retry saves", () => {
  function failing() {
    const inner = memoryStore();
    const f = failingOnce(inner);
    const clock = testClock();
    const sessions = defineSession({ schema, store: f.store, cookie: { name: "sid", secure: true }, now: clock.now });
    return { sessions, fail: f.fail, clock };
  }

  it("create fails: the session stays new and modified, no cookie is owed; the retry creates it and its cookie loads", async () => {
    const { sessions, fail } = failing();
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    fail("create");
    await expect(s.commit()).rejects.toThrow();
    expect(s.isNew).toBe(true);
    expect(s.isModified).toBe(true);
    const sent = await s.commit();
    expect(sent).toHaveLength(1);
    expect((await sessions.load(cookieHeader(sent))).get("userId")).toBe("u1");
  });

  it("patch fails: the change stays pending and the retry writes it", async () => {
    const { sessions, fail } = failing();
    const s0 = await sessions.load(undefined);
    s0.set("userId", "u1");
    const cookie = cookieHeader(await s0.commit());
    const s = await sessions.load(cookie);
    s.set("note", "n1");
    fail("patch");
    await expect(s.save()).rejects.toThrow();
    expect(s.isModified).toBe(true);
    expect((await sessions.load(cookie)).get("note")).toBeUndefined();
    await s.save();
    expect(s.isModified).toBe(false);
    expect((await sessions.load(cookie)).get("note")).toBe("n1");
  });

  it("rotate fails: the old cookie still works and no new cookie is owed; the retry rotates (old dead, new loads)", async () => {
    const { sessions, fail } = failing();
    const s0 = await sessions.load(undefined);
    s0.set("userId", "u1");
    const cookie = cookieHeader(await s0.commit());
    const s = await sessions.load(cookie);
    fail("rotate");
    await expect(s.rotate()).rejects.toThrow();
    expect((await sessions.load(cookie)).get("userId")).toBe("u1");
    await s.rotate();
    const sent = await s.commit();
    expect(sent).toHaveLength(1);
    expect(cookieHeader(sent)).not.toBe(cookie);
    expect((await sessions.load(cookie)).isNew).toBe(true);
    expect((await sessions.load(cookieHeader(sent))).get("userId")).toBe("u1");
  });

  it("delete fails in destroy(): the session keeps its data and cookie; the retry destroys it and clears the cookie", async () => {
    const { sessions, fail } = failing();
    const s0 = await sessions.load(undefined);
    s0.set("userId", "u1");
    const cookie = cookieHeader(await s0.commit());
    const s = await sessions.load(cookie);
    fail("delete");
    await expect(s.destroy()).rejects.toThrow();
    expect(s.isNew).toBe(false);
    expect(s.get("userId")).toBe("u1");
    expect(await s.commit()).toEqual([]);
    await s.destroy();
    const sent = await s.commit();
    expect(sent).toHaveLength(1);
    expect(isClearing(sent[0] as string)).toBe(true);
    expect((await sessions.load(cookie)).isNew).toBe(true);
  });
});
