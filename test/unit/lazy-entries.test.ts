import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent, SessionTooLargeError, SessionValidationError } from "../../src/index.js";
import type { SessionStore, StoredData, StoredSession } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { hashToken } from "../../src/token.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";
import { craftedRecord, RECORD_NOW, sized } from "../helpers/records.js";

/**
 * Lazy entries (issue 14): under onInvalid "drop" with no migration to run, a load keeps the
 * entries encoded and a key is decoded and validated at its first use. These tests pin that a
 * request pays for what it reads, and that everything observable but the moment of the
 * `invalid` event is what the eager load gave: values, what is written, sizes, events' keys.
 */

/** Counts the schema's parses of every field, through a refine each field runs once per parse. */
function countedSchema(keys: readonly string[]) {
  const parsed: string[] = [];
  const field = (key: string) =>
    z
      .string()
      .optional()
      .refine(() => {
        parsed.push(key);
        return true;
      });
  const schema = z.object(Object.fromEntries(keys.map((key) => [key, field(key)])) as Record<string, ReturnType<typeof field>>);
  return { schema, parsed };
}

const SEVEN = ["userId", "a", "b", "c", "d", "e", "f"] as const;

const schema = z.object({
  userId: z.string().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
  note: z.string().optional(),
  flag: z.string().optional(),
});

/** A memory store whose map the test reads and writes directly; `withBytes` reports `dataBytes` as Redis does. */
function setup(options: { withBytes?: boolean; maxBytes?: number; onInvalid?: "drop" | "throw" | "reset" } = {}) {
  const map = new Map<string, StoredSession>();
  const inner = memoryStore({ map });
  const store: SessionStore = options.withBytes
    ? {
        ...inner,
        get: async (id, now) => {
          const record = await inner.get(id, now);
          return record === null ? null : sized(record);
        },
      }
    : inner;
  const events: SessionEvent[] = [];
  const clock = testClock(RECORD_NOW.getTime());
  const sessions = defineSession({
    schema,
    store,
    cookie: { secure: true, name: "sid" },
    now: clock.now,
    onEvent: (event) => events.push(event),
    ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    ...(options.onInvalid === undefined ? {} : { onInvalid: options.onInvalid }),
  });
  /** Puts `data` in the store as is (what the core would never write) and returns its cookie. */
  const plant = async (data: StoredData) => {
    const { token, record } = await craftedRecord(data);
    map.set(record.id, record);
    return { cookie: `sid=${token}`, id: record.id };
  };
  const stored = (id: string) => (map.get(id) as StoredSession).data;
  const invalidKeys = () => events.filter((e) => e.type === "invalid").map((e) => e.keys);
  return { sessions, map, plant, stored, events, invalidKeys, clock };
}

/** One valid entry, one that fails its field's schema, one that does not decode (superjson meta of an unknown type). */
const MIXED: StoredData = {
  userId: { json: "u1" },
  theme: { json: "purple" },
  note: { json: "x", meta: { values: ["no-such-type"], v: 1 } },
};

describe("lazy entries: a request validates what it reads", () => {
  it("a read of 1 of 7 keys parses 1; a second read of it parses nothing; a patch parses only what it writes", async () => {
    const { schema: counted, parsed } = countedSchema(SEVEN);
    const sessions = defineSession({ schema: counted, store: memoryStore(), cookie: { secure: true, name: "sid" } });
    const writer = await sessions.load(undefined);
    writer.update(Object.fromEntries(SEVEN.map((key) => [key, `${key}-value`])));
    const cookie = cookieHeader(await writer.commit());

    parsed.length = 0;
    const s = await sessions.load(cookie);
    expect(parsed).toEqual([]); // the load itself parses nothing
    expect(s.get("c")).toBe("c-value");
    expect(parsed).toEqual(["c"]);
    expect(s.get("c")).toBe("c-value");
    expect(s.has("c")).toBe(true);
    expect(parsed).toEqual(["c"]); // validated once, then cached
    expect(await s.commit()).toEqual([]); // a read-only request: no touch due, no more parses
    expect(parsed).toEqual(["c"]);

    // A write within maxBytes validates the value it writes; the entries not read stay as stored.
    s.set("a", "new");
    expect(parsed).toEqual(["c", "a"]);
    await s.commit();
    expect(parsed).toEqual(["c", "a"]);
    // A whole-record write (rotation) validates the five never read, once each, before writing them.
    await s.rotate();
    expect(parsed.slice(2).sort()).toEqual(["b", "d", "e", "f", "userId"]);
    await s.commit();
    expect(parsed).toHaveLength(7);
  });

  it('onInvalid "throw" and "reset", and a migration, still validate every entry at load', async () => {
    const { schema: counted, parsed } = countedSchema(SEVEN);
    const store = memoryStore();
    const writer = await defineSession({ schema: counted, store, cookie: { secure: true, name: "sid" } }).load(undefined);
    writer.update(Object.fromEntries(SEVEN.map((key) => [key, "v"])));
    const cookie = cookieHeader(await writer.commit());
    for (const options of [
      { onInvalid: "throw" as const },
      { onInvalid: "reset" as const },
      { version: 2, migrations: { 2: (d: Record<string, unknown>) => d } },
    ]) {
      parsed.length = 0;
      const sessions = defineSession({ schema: counted, store, cookie: { secure: true, name: "sid" }, ...options });
      await sessions.load(cookie);
      expect(parsed, JSON.stringify(options)).toHaveLength(7);
    }
  });

  it("an entry past its own ttl is dropped at load without being decoded", async () => {
    const { schema: counted, parsed } = countedSchema(SEVEN);
    const clock = testClock();
    const sessions = defineSession({
      schema: counted,
      store: memoryStore(),
      cookie: { secure: true, name: "sid" },
      now: clock.now,
    });
    const writer = await sessions.load(undefined);
    writer.set("userId", "u1");
    writer.set("a", "otp", { ttl: "1m" });
    const cookie = cookieHeader(await writer.commit());
    clock.advance(120);
    parsed.length = 0;
    const s = await sessions.load(cookie);
    expect(s.has("a")).toBe(false);
    expect(parsed).toEqual([]);
  });
});

describe("lazy entries: invalid data behaves as an invalid entry dropped at load, reported at its first use", () => {
  it("read only the valid key, then patch: the invalid keys never read stay as stored, unreported, until a request reads them", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    expect(s.get("userId")).toBe("u1");
    s.set("flag", "on");
    await s.commit();
    expect(invalidKeys()).toEqual([]); // nothing invalid was read, so nothing is reported
    expect(stored(id)).toEqual({ ...MIXED, flag: { json: "on" } }); // the patch wrote flag alone
    // The next request that reads them finds them absent, reports them once, and its write deletes them.
    const next = await sessions.load(cookie);
    expect(next.all()).toEqual({ userId: "u1", theme: "light", flag: "on" });
    expect(invalidKeys().flat().sort()).toEqual(["note", "theme"]);
    next.set("flag", "off");
    await next.commit();
    expect(stored(id)).toEqual({ userId: { json: "u1" }, flag: { json: "off" } });
    expect(invalidKeys().flat()).toHaveLength(2); // each key reported once
  });

  it("discard() of a write to a key never read puts its stored entry back unread: validated at its next use", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("theme", "dark"); // replaces the invalid entry without reading it
    s.set("note", "fine");
    s.discard("theme");
    expect(invalidKeys()).toEqual([]);
    expect(s.get("theme")).toBe("light"); // the stored "purple" read now: invalid, absent, reported
    expect(invalidKeys()).toEqual([["theme"]]);
    await s.commit();
    expect(stored(id)).toEqual({ userId: { json: "u1" }, note: { json: "fine" } });
  });

  it("a read of an invalid key sees it absent (schema default) and reports it then, once; the next write deletes it", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    expect(s.get("theme")).toBe("light");
    expect(invalidKeys()).toEqual([["theme"]]);
    expect(s.has("theme")).toBe(false);
    expect(s.get("note")).toBeUndefined();
    expect(s.pop("note", "fallback")).toBe("fallback");
    expect(invalidKeys()).toEqual([["theme"], ["note"]]);
    expect(s.all()).toEqual({ userId: "u1", theme: "light" });
    expect(invalidKeys()).toHaveLength(2); // each key reported once per request
    expect(s.isModified).toBe(false); // dropped keys make no write by themselves
    await s.commit(); // the expiry touch only: data untouched
    expect(Object.keys(stored(id)).sort()).toEqual(["note", "theme", "userId"]); // nothing written
    s.set("flag", "on");
    await s.commit();
    expect(stored(id)).toEqual({ userId: { json: "u1" }, flag: { json: "on" } });
  });

  it("a request that reads nothing invalid and writes nothing leaves the record as stored and reports nothing", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    expect(s.get("userId")).toBe("u1");
    await s.commit(); // the expiry touch only
    expect(invalidKeys()).toEqual([]);
    expect(Object.keys(stored(id)).sort()).toEqual(["note", "theme", "userId"]);
  });

  it("keys not in the schema and entries of the wrong shape are still reported at load (they need no decoding)", async () => {
    const { sessions, plant, invalidKeys } = setup();
    const { cookie } = await plant({ userId: { json: "u1" }, stray: { json: 1 }, flag: "not an entry" as never });
    await sessions.load(cookie);
    expect(invalidKeys()).toHaveLength(1);
    expect(invalidKeys()[0]?.slice().sort()).toEqual(["flag", "stray"]);
  });

  it("rotate writes the record whole: entries never read are validated first, invalid ones are not carried over", async () => {
    const { sessions, plant, map, invalidKeys } = setup();
    const { cookie } = await plant(MIXED);
    const s = await sessions.load(cookie);
    await s.rotate();
    expect(invalidKeys()).toEqual([["theme", "note"]]);
    const cookies = await s.commit();
    const token = cookieHeader(cookies).slice("sid=".length);
    expect((map.get(hashToken(token)) as StoredSession).data).toEqual({ userId: { json: "u1" } });
  });

  it("clear() then discard(): the invalid entries stay dropped, as when they were dropped at load", async () => {
    const { sessions, plant, stored, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.clear();
    expect(invalidKeys()).toEqual([["theme", "note"]]);
    s.discard();
    expect(s.isModified).toBe(false);
    expect(s.get("userId")).toBe("u1");
    expect(s.all()).toEqual({ userId: "u1", theme: "light" });
    await s.commit();
    expect(Object.keys(stored(id)).sort()).toEqual(["note", "theme", "userId"]); // nothing was written
  });

  it("destroy() validates nothing and reports nothing", async () => {
    const { sessions, plant, map, invalidKeys } = setup();
    const { cookie, id } = await plant(MIXED);
    const s = await sessions.load(cookie);
    await s.destroy();
    expect(map.has(id)).toBe(false);
    expect(s.isEmpty).toBe(true);
    expect(invalidKeys()).toEqual([]);
  });

  it("isEmpty, consumeFlash, setdefault and login read through the lazy entries", async () => {
    const { sessions, plant, invalidKeys } = setup();
    const onlyInvalid = await plant({ theme: { json: "purple" } });
    const empty = await sessions.load(onlyInvalid.cookie);
    expect(empty.isEmpty).toBe(true);
    expect(invalidKeys()).toEqual([["theme"]]);

    const flashed = await plant({ note: { json: "saved!", flash: true }, userId: { json: "u1" } });
    const s = await sessions.load(flashed.cookie);
    expect(s.isEmpty).toBe(false);
    expect(s.consumeFlash("note")).toBe("saved!");
    expect(s.consumeFlash("note")).toBeUndefined();
    expect(s.setdefault("flag", "x")).toBe("x");
    // login compares the stored identity: the same user keeps the data, another clears it.
    await s.login("userId", "u1");
    expect(s.get("flag")).toBe("x");
    await s.login("userId", "u2");
    expect(s.has("flag")).toBe(false);
  });

  it("maxBytes counts only the valid entries, as at load, with and without a size the store reported", async () => {
    for (const withBytes of [false, true]) {
      const bad = { json: "y".repeat(300) }; // a string, but not one of theme's values: invalid
      const good = { json: "u1" };
      const goodBytes = JSON.stringify(good).length;
      const { sessions, plant } = setup({ withBytes, maxBytes: goodBytes + 200 });
      const { cookie } = await plant({ userId: good, theme: bad });
      const s = await sessions.load(cookie);
      expect(s.get("userId")).toBe("u1");
      s.set("note", "z".repeat(150)); // fits beside userId; would not beside the invalid 300 bytes
      expect(() => s.set("flag", "w".repeat(100)), `withBytes ${withBytes}`).toThrow(SessionTooLargeError);
      await s.commit();
      expect((await sessions.load(cookie)).get("note")).toHaveLength(150);
    }
  });

  it("a key read lazily and found invalid leaves a reported size (dataBytes) measured again, not trusted", async () => {
    const { sessions, plant } = setup({ withBytes: true, maxBytes: 120 });
    const { cookie } = await plant({ userId: { json: "u1" }, theme: { json: "x".repeat(90) } });
    const s = await sessions.load(cookie);
    expect(s.get("theme")).toBe("light"); // dropped at this read
    s.set("note", "n".repeat(80)); // 80 + userId fits 120 only without the dropped 100 bytes
    await s.commit();
  });

  it("onInvalid throw still fails the load; findMany lists only the valid keys", async () => {
    const thrown = setup({ onInvalid: "throw" });
    const { cookie } = await thrown.plant(MIXED);
    await expect(thrown.sessions.load(cookie)).rejects.toBeInstanceOf(SessionValidationError);

    const { sessions, plant } = setup();
    await plant(MIXED);
    const found = await sessions.findMany({ where: { userId: "u1" } });
    expect(found.map((f) => f.data)).toEqual([{ userId: "u1", theme: "light" }]);
  });

  it("a cookie store's seal after reading one key carries the valid entries only; `invalid` fires at that write", async () => {
    const store = cookieStore({ secrets: ["a-test-secret-of-at-least-32-characters!"] });
    const loose = z.object({ userId: z.string().optional(), theme: z.string().optional(), flag: z.string().optional() });
    const events: SessionEvent[] = [];
    const writer = await defineSession({ schema: loose, store, cookie: { secure: true, name: "sid" } }).load(undefined);
    writer.update({ userId: "u1", theme: "purple" });
    const cookie = cookieHeader(await writer.commit());

    const sessions = defineSession({ schema, store, cookie: { secure: true, name: "sid" }, onEvent: (e) => events.push(e) });
    const s = await sessions.load(cookie);
    expect(s.get("userId")).toBe("u1");
    expect(events.filter((e) => e.type === "invalid")).toEqual([]);
    s.set("flag", "on");
    expect(events.filter((e) => e.type === "invalid").map((e) => e.keys)).toEqual([["theme"]]);
    const sealed = cookieHeader(await s.commit());
    // Read back under the loose schema: the invalid "purple" is gone from the cookie.
    const reread = await defineSession({ schema: loose, store, cookie: { secure: true, name: "sid" } }).load(sealed);
    expect(reread.all()).toEqual({ userId: "u1", flag: "on" });
  });
});
