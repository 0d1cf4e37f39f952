/**
 * Second attack on the issue-15.5 fixes (memory store): the follow window, the import marker,
 * held claims. Defects: an explicit save() of a held legacy session writes under the legacy id.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { holdLegacy } from "../../src/adapter-kit.js";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "second attack secret";
const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]) });
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const _DAY = 86_400_000;

function setup(extra: { rotationGrace?: number; followSeconds?: number } = {}) {
  const clock = testClock(Date.now());
  const map = new Map();
  const legacy = expressSessionCookie({
    secrets: SECRET,
    ...(extra.followSeconds === undefined ? {} : { followSeconds: extra.followSeconds }),
  });
  const sessions = defineSession({
    schema,
    store: memoryStore({ map }),
    legacy,
    now: clock.now,
    ...(extra.rotationGrace === undefined ? {} : { rotationGrace: { seconds: extra.rotationGrace } }),
  });
  return { sessions, map, clock };
}

const tokenOf = (cookies: string[]) =>
  cookies
    .find((value) => value.startsWith("__Host-sid="))
    ?.split(";")[0]
    ?.slice(11) as string;

async function _claim(sessions: ReturnType<typeof setup>["sessions"], sid: string): Promise<string> {
  const session = await sessions.load(legacyCookie(sid));
  const token = tokenOf(await session.commit());
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token;
}

describe("held claims", () => {
  it("an explicit save() of a held (no-cookies) legacy session stores nothing under the legacy id", async () => {
    const { sessions, map } = setup();
    await sessions.importLegacy({ sid: "hs", data: { userId: "victim" }, expiresAt: null });
    const before = JSON.stringify([...map.entries()]);
    const session = await sessions.load(legacyCookie("hs"));
    holdLegacy(session, "no-cookies");
    session.set("cart", ["rsc"]);
    await expect(session.save()).rejects.toThrow();
    expect(JSON.stringify([...map.entries()])).toBe(before);
  });

  it("an explicit save() of an abandoned legacy session stores nothing under the legacy id", async () => {
    const { sessions, map } = setup();
    await sessions.importLegacy({ sid: "ha", data: { userId: "victim" }, expiresAt: null });
    const before = JSON.stringify([...map.entries()]);
    const session = await sessions.load(legacyCookie("ha"));
    holdLegacy(session, "abandoned");
    session.set("cart", ["gone"]);
    await session.save().catch(() => undefined);
    expect(await session.commit()).toEqual([]);
    expect(JSON.stringify([...map.entries()])).toBe(before);
  });
});

describe("an unclaimed legacy session's explicit save()", () => {
  // The defect: save() patched the record under the legacy id, rolling its expiry from the
  // legacy store's (an hour) to now + maxAge, so a stolen legacy cookie lived ~14 days more.
  // The fix claims it first, as commit() and destroy() do.
  it("claims it first: nothing under the legacy id outlives the legacy expiry, and after the follow window the old cookie reaches nothing", async () => {
    const { sessions, map, clock } = setup();
    const legacyExpiry = clock.now() + 3_600_000;
    await sessions.importLegacy({ sid: "st", data: { userId: "victim" }, expiresAt: new Date(legacyExpiry) });
    const importedIds = new Set(map.keys());
    // A handler saves explicitly, then fails (or its client goes away): no commit.
    const session = await sessions.load(legacyCookie("st"));
    session.set("cart", ["saved"]);
    await session.save();
    session.discard();
    for (const id of importedIds) {
      const record = map.get(id);
      if (record !== undefined && record.successorId === null)
        expect(record.expiresAt.getTime()).toBeLessThanOrEqual(legacyExpiry);
    }
    clock.advance(21); // seconds: past followSeconds (20), well inside the legacy hour
    const replay = await sessions.load(legacyCookie("st"));
    expect(replay.get("userId")).toBeUndefined();
    expect(replay.isNew).toBe(true);
  });
});
