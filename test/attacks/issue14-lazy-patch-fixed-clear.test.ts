/**
 * Issue 14 lazy patch (d884621): whole-record writes (rotate, clear, login, migrations, the
 * cookie store's seal) never write an invalid entry back, including one a set+discard put back
 * unread (NOT_READ); findMany and operator.inspect never show one.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import type { StoredData, StoredSession } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
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
