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
