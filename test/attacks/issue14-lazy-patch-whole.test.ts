/**
 * Issue 14 lazy patch (d884621): whole-record writes (rotate, clear, login, migrations, the
 * cookie store's seal) never write an invalid entry back, including one a set+discard put back
 * unread (NOT_READ); findMany and operator.inspect never show one.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import type { StoredData, StoredSession } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";
import { craftedRecord, RECORD_NOW } from "../helpers/records.js";

const schema = z.object({
  userId: z.string().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
  note: z.string().optional(),
  flag: z.string().optional(),
});

const MIXED: StoredData = {
  userId: { json: "u1" },
  theme: { json: "purple" },
  note: { json: "x", meta: { values: ["no-such-type"], v: 1 } },
};

function setup(
  extra: { version?: number; migrations?: Record<number, (d: Record<string, unknown>) => Record<string, unknown>> } = {},
) {
  const map = new Map<string, StoredSession>();
  const events: SessionEvent[] = [];
  const clock = testClock(RECORD_NOW.getTime());
  const sessions = defineSession({
    schema,
    store: memoryStore({ map }),
    cookie: { secure: true, name: "sid" },
    now: clock.now,
    onEvent: (event) => events.push(event),
    ...extra,
  });
  const plant = async (data: StoredData, schemaVersion = 1) => {
    const { token, record } = await craftedRecord(data);
    map.set(record.id, { ...record, schemaVersion });
    return { cookie: `sid=${token}`, id: record.id };
  };
  /** The live records (no successor), data only. */
  const live = () => [...map.values()].filter((r) => r.successorId === null).map((r) => r.data);
  const invalidKeys = () => events.filter((e) => e.type === "invalid").flatMap((e) => e.keys);
  return { sessions, map, plant, live, invalidKeys };
}

describe("whole-record writes after set+discard of unread invalid keys", () => {
  for (const discardAll of [true, false]) {
    it(`rotate() after set+discard${discardAll ? "()" : "(key)"}: the rotated record holds the valid entries only`, async () => {
      const { sessions, plant, live, invalidKeys } = setup();
      const { cookie } = await plant(MIXED);
      const s = await sessions.load(cookie);
      s.set("theme", "dark");
      s.set("note", "ok");
      if (discardAll) s.discard();
      else s.discard("theme", "note");
      await s.rotate();
      await s.commit();
      expect(live()).toEqual([{ userId: { json: "u1" } }]);
      expect(invalidKeys().sort()).toEqual(["note", "theme"]);
    });
  }

  it("login() after set+discard of an unread invalid key: the new record holds no invalid entry", async () => {
    const { sessions, plant, live } = setup();
    const { cookie } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("note", "ok");
    s.discard("note");
    await s.login("userId", "u2");
    await s.commit();
    for (const data of live()) {
      expect(data.theme).toBeUndefined();
      expect(data.note).toBeUndefined();
    }
    expect(live().some((d) => JSON.stringify(d.userId) === JSON.stringify({ json: "u2" }))).toBe(true);
  });

  it("a migration (version 2) of a record with invalid entries writes none of them back", async () => {
    const { sessions, plant, live } = setup({ version: 2, migrations: { 2: (d) => ({ ...d, flag: "migrated" }) } });
    const { cookie } = await plant(MIXED, 1);
    const s = await sessions.load(cookie);
    s.set("note", "ok");
    s.discard();
    await s.commit();
    const [data] = live();
    expect(data?.theme).toBeUndefined();
    expect(data?.note === undefined || JSON.stringify(data.note) === JSON.stringify({ json: "x" })).toBe(true);
    const again = await sessions.load(cookie);
    expect(again.get("theme")).toBe("light");
  });

  it("findMany and operator-like listing never show the invalid values, after another request's patch", async () => {
    const { sessions, plant } = setup();
    const { cookie } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("flag", "f");
    await s.commit();
    const found = await sessions.findMany({ where: { userId: "u1" } });
    expect(found.map((f) => f.data)).toEqual([{ userId: "u1", theme: "light", flag: "f" }]);
  });
});

describe("cookie store seal", () => {
  const secrets = ["a-test-secret-of-at-least-32-characters!"];
  const loose = z.object({
    userId: z.string().optional(),
    theme: z.string().optional(),
    note: z.string().optional(),
    flag: z.string().optional(),
  });

  async function sealedWithPurple() {
    const store = cookieStore({ secrets });
    const writer = await defineSession({ schema: loose, store, cookie: { secure: true, name: "sid" } }).load(undefined);
    writer.update({ userId: "u1", theme: "purple" });
    const cookie = cookieHeader(await writer.commit());
    const events: SessionEvent[] = [];
    const sessions = defineSession({ schema, store, cookie: { secure: true, name: "sid" }, onEvent: (e) => events.push(e) });
    const reread = async (c: string) =>
      (await defineSession({ schema: loose, store, cookie: { secure: true, name: "sid" } }).load(c)).all();
    return { sessions, cookie, events, reread };
  }

  it("set then discard of the unread invalid key, then another write: the seal drops it", async () => {
    const { sessions, cookie, events, reread } = await sealedWithPurple();
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    s.discard("theme");
    s.set("flag", "on");
    const sealed = cookieHeader(await s.commit());
    expect(await reread(sealed)).toEqual({ userId: "u1", flag: "on" });
    expect(events.filter((e) => e.type === "invalid").flatMap((e) => e.keys)).toEqual(["theme"]);
  });

  it("set of the unread invalid key replaces it: the seal carries the new valid value, nothing reported", async () => {
    const { sessions, cookie, reread } = await sealedWithPurple();
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    const sealed = cookieHeader(await s.commit());
    expect(await reread(sealed)).toEqual({ userId: "u1", theme: "dark" });
  });
});

describe("issue 14 attack (fixed): clear() then discard() keeps the invalid keys clear() read as deleted", () => {
  it("clear() then discard() then set(): the patch does not bring back the invalid entries", async () => {
    const { sessions, plant, live, invalidKeys } = setup();
    const { cookie } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.clear();
    s.discard();
    s.set("flag", "f");
    await s.commit();
    expect(live()).toEqual([{ userId: { json: "u1" }, flag: { json: "f" } }]);
    expect(invalidKeys().sort()).toEqual(["note", "theme"]);
  });

  it("set of an unread invalid key, then clear(), then discard(): back to stored, the invalid key absent for good", async () => {
    const { sessions, plant, live, invalidKeys } = setup();
    const { cookie } = await plant(MIXED);
    const s = await sessions.load(cookie);
    s.set("theme", "dark");
    s.clear();
    s.discard();
    expect(s.get("theme")).toBe("light");
    expect(s.all()).toEqual({ userId: "u1", theme: "light" });
    s.set("flag", "f");
    await s.commit();
    expect(live()).toEqual([{ userId: { json: "u1" }, flag: { json: "f" } }]);
    expect(invalidKeys().sort()).toEqual(["note", "theme"]);
  });
});
