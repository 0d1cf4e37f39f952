import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent, SessionTooLargeError } from "../../src/index.js";
import type { SessionStore, StoredData, StoredSession } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";
import { craftedRecord, RECORD_NOW, sized } from "../helpers/records.js";

/**
 * Attacks on d884621 (a patch validates only what it writes; maxBytes counts unread entries by
 * their stored size and reads them all only before refusing; discard() restores NOT_READ).
 */

const schema = z.object({
  userId: z.string().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
  note: z.string().optional(),
  flag: z.string().optional(),
  big: z.string().optional(),
});

function setup(options: { withBytes?: boolean; maxBytes?: number } = {}) {
  const map = new Map<string, StoredSession>();
  const inner = memoryStore({ map });
  let gate: Promise<void> | null = null;
  let release = () => {};
  let entered = () => {};
  let arrived = Promise.resolve();
  const store: SessionStore = {
    ...inner,
    get: async (id, now) => {
      const record = await inner.get(id, now);
      return record === null || !options.withBytes ? record : sized(record);
    },
    patch: async (...args: Parameters<SessionStore["patch"]>) => {
      if (gate !== null) {
        entered();
        await gate;
      }
      return inner.patch(...args);
    },
  };
  /** Makes the next patch wait until `open()`; returns a promise of its arrival at the gate. */
  const close = () => {
    gate = new Promise((resolve) => {
      release = () => {
        gate = null;
        resolve();
      };
    });
    arrived = new Promise((resolve) => {
      entered = resolve;
    });
    return arrived;
  };
  const open = () => release();
  const events: SessionEvent[] = [];
  const clock = testClock(RECORD_NOW.getTime());
  const sessions = defineSession({
    schema,
    store,
    cookie: { secure: true, name: "sid" },
    now: clock.now,
    onEvent: (event) => events.push(event),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
  });
  const plant = async (data: StoredData) => {
    const { token, record } = await craftedRecord(data);
    map.set(record.id, record);
    return { cookie: `sid=${token}`, id: record.id };
  };
  const stored = (id: string) => (map.get(id) as StoredSession).data;
  const invalidKeys = () => events.filter((e) => e.type === "invalid").map((e) => e.keys);
  return { sessions, map, plant, stored, events, invalidKeys, clock, close, open };
}

const bytesOf = (data: StoredData) => {
  let n = 0;
  for (const entry of Object.values(data)) n += Buffer.byteLength(JSON.stringify(entry));
  return n;
};

describe("maxBytes with unread entries", () => {
  it("a write that fits on valid data alone is not refused, whatever invalid unread entries weigh", async () => {
    const maxBytes = 4096;
    const { sessions, plant, stored, invalidKeys } = setup({ withBytes: true, maxBytes });
    const { cookie, id } = await plant({ userId: { json: "u1" }, theme: { json: "p".repeat(3000) } });
    const s = await sessions.load(cookie);
    s.set("flag", "f".repeat(2000)); // 3000 + 2000 > 4096 with the invalid theme; fits without it
    await s.commit();
    expect(invalidKeys()).toEqual([["theme"]]);
    expect(stored(id).theme).toBeUndefined();
    expect(stored(id).flag).toEqual({ json: "f".repeat(2000) });
    expect(bytesOf(stored(id))).toBeLessThanOrEqual(maxBytes);
  });

  it("update() of several keys, some replacing unread invalid entries, never exceeds maxBytes", async () => {
    const maxBytes = 2048;
    const { sessions, plant, stored } = setup({ withBytes: true, maxBytes });
    const { cookie, id } = await plant({
      userId: { json: "u".repeat(1500) },
      note: { json: 5 }, // invalid, tiny
      theme: { json: "purple" },
    });
    const s = await sessions.load(cookie);
    let refused = false;
    try {
      s.update({ note: "n".repeat(400), flag: "f".repeat(400) });
      await s.commit();
    } catch (error) {
      expect(error).toBeInstanceOf(SessionTooLargeError);
      refused = true;
    }
    expect(refused).toBe(true);
    expect(bytesOf(stored(id))).toBeLessThanOrEqual(maxBytes + 100); // stored row unchanged
    expect(stored(id).flag).toBeUndefined();
  });
});

describe("R39: no invalid value reaches the app after set+discard of unread keys", () => {
  const MIXED: StoredData = {
    userId: { json: "u1" },
    theme: { json: "purple" },
    note: { json: "x", meta: { values: ["no-such-type"], v: 1 } },
  };

  it("set then discard() (all) of unread invalid keys: reads see them absent; one report per key", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    s.set("note", "ok");
    s.discard();
    expect(s.get("theme")).toBe("light");
    expect(s.get("note")).toBeUndefined();
    expect(s.has("note")).toBe(false);
    expect(s.all()).toEqual({ userId: "u1", theme: "light" });
    expect(s.isEmpty).toBe(false);
    const reported = invalidKeys().flat();
    expect(reported.sort()).toEqual(["note", "theme"]);
    s.set("flag", "x");
    await s.commit();
    expect(invalidKeys().flat().sort()).toEqual(["note", "theme"]);
    expect(stored(id)).toEqual({ userId: { json: "u1" }, flag: { json: "x" } });
  });

  it("set; commit; set; discard(key): the discarded key goes back to the committed value, not the stored invalid one", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    await s.commit();
    s.set("theme", "light");
    s.discard("theme");
    expect(s.get("theme")).toBe("dark");
    expect(invalidKeys()).toEqual([]);
    expect(stored(id).theme).toEqual({ json: "dark" });
  });

  it("discard(key) of an unread invalid key, then rotate(): never writes it back", async () => {
    const { sessions, plant, map, invalidKeys } = setup();
    const { cookie } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    s.discard("theme");
    await s.rotate();
    await s.commit();
    const records = [...map.values()].filter((r) => r.successorId === null);
    expect(records).toHaveLength(1);
    expect(records[0]?.data).toEqual({ userId: { json: "u1" } });
    expect(invalidKeys().flat().sort()).toEqual(["note", "theme"]);
  });

  it("pop/setdefault/consumeFlash on unread invalid keys never return the stored value", async () => {
    const { sessions, plant, invalidKeys } = setup();
    const { cookie } = await plant({ ...MIXED, flag: { json: 42, flash: true } as never });
    const s = await sessions.load(cookie);
    const anyS = s as unknown as Record<string, (...a: unknown[]) => unknown>;
    expect(anyS.pop?.call(s, "theme")).not.toBe("purple");
    expect(anyS.setdefault?.call(s, "note", "d")).toBe("d");
    const flash = anyS.consumeFlash?.call(s, "flag");
    expect(flash).not.toBe(42);
    expect(invalidKeys().flat().sort()).toEqual(["flag", "note", "theme"]);
  });
});

describe("discard() while a save is in flight", () => {
  it("an unread invalid key: set, save in flight, discard(), landing → memory equals the store, nothing reported", async () => {
    const { sessions, plant, stored, invalidKeys, close, open } = setup();
    const { cookie, id } = await plant({ userId: { json: "u1" }, theme: { json: "purple" } });
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    const arrived = close();
    const saving = s.commit();
    await arrived;
    s.discard();
    open();
    await saving;
    expect(stored(id).theme).toEqual({ json: "dark" });
    expect(s.get("theme")).toBe("dark");
    expect(invalidKeys()).toEqual([]);
  });

  it("two commits in flight (tRPC): one writes an unread key, the other discards it; store and memory agree", async () => {
    const { sessions, plant, stored, close, open } = setup();
    const { cookie, id } = await plant({ userId: { json: "u1" }, theme: { json: "purple" }, note: { json: "n" } });
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    const arrived = close();
    const first = s.commit();
    await arrived;
    s.set("note", "m");
    s.discard("note");
    s.set("flag", "f");
    const second = s.commit();
    open();
    await Promise.all([first, second]);
    const data = stored(id);
    expect(data.theme).toEqual({ json: "dark" });
    expect(data.note).toEqual({ json: "n" });
    expect(data.flag).toEqual({ json: "f" });
    expect(s.all()).toEqual({ userId: "u1", theme: "dark", note: "n", flag: "f" });
  });
});

describe("issue 14 attack (fixed): maxBytes not bypassed by replacing a heavy invalid unread entry", () => {
  for (const withBytes of [false, true]) {
    it(`a write replacing a huge invalid unread entry is judged on the valid data alone (withBytes=${withBytes})`, async () => {
      const maxBytes = 4096;
      const { sessions, plant, stored } = setup({ withBytes, maxBytes });
      // A hostile stored entry for "note": a number, invalid for z.string(), 100 KB long.
      const hostile: StoredData = { userId: { json: "u1" }, note: { json: ["x".repeat(100_000)] } };
      const { cookie, id } = await plant(hostile);
      const s = await sessions.load(cookie);
      // Eager semantics: note is dropped at load; valid data is ~15 bytes; a 10 KB note grows it past 4 KiB.
      let refused: unknown = null;
      try {
        s.set("note", "y".repeat(10_000));
      } catch (error) {
        refused = error;
      }
      if (refused === null) await s.commit();
      expect(refused).toBeInstanceOf(SessionTooLargeError);
      expect(bytesOf(stored(id))).toBeGreaterThan(maxBytes); // unchanged hostile row
      expect(stored(id).note).toEqual(hostile.note);
    });
  }
});

describe("issue 14 attack (fixed), reached without hand edits: schema change + lowered maxBytes", () => {
  it("an entry the old schema wrote (50 KB) and the new one rejects, replaced by 10 KB under maxBytes 4096: refused by the eager rule", async () => {
    const store = memoryStore();
    const old = defineSession({
      schema: z.object({ userId: z.string().optional(), note: z.array(z.string()).optional() }),
      store,
      maxBytes: 100_000,
      cookie: { secure: true, name: "sid" },
    });
    const first = await old.load(undefined);
    first.update({ userId: "u1", note: ["x".repeat(50_000)] });
    const cookie = cookieHeader(await first.commit());
    const next = defineSession({ schema, store, maxBytes: 4096, cookie: { secure: true, name: "sid" } });
    const s = await next.load(cookie);
    let refused = false;
    try {
      s.set("note", "y".repeat(10_000));
      await s.commit();
    } catch (error) {
      refused = error instanceof SessionTooLargeError;
    }
    const stored = await next.load(cookie);
    // Expected (eager load: note dropped, ~15 bytes of valid data; 10 KB note > 4096): refused.
    // Actual: accepted, and a 10 KB session is stored under maxBytes 4096.
    expect({ refused, noteLength: (stored.get("note") ?? "").length }).toEqual({ refused: true, noteLength: 0 });
  });
});
