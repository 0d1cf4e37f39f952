/**
 * Second attack on the issue-15.5 fixes (memory store): the follow window, the import marker,
 * held claims, and (fixed after the attack) an explicit save() of a held or unclaimed legacy session.
 */
import { describe, expect, it } from "vitest";
import { holdLegacy } from "../../src/adapter-kit.js";
import type { Session } from "../../src/index.js";
import { claim, legacyCookie, type schema, setup, tokenOf } from "./issue15-helpers/second-rig.js";

const DAY = 86_400_000;

describe("the follow window against a stolen legacy cookie", () => {
  it("a logout through the new token inside the window leaves the legacy cookie nothing", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "lo", data: { userId: "victim" }, expiresAt: null });
    const token = await claim(sessions, "lo");
    clock.advance(1);
    const victim = (await sessions.get(token)) as Session<typeof schema>;
    await victim.destroy();
    await victim.commit();
    const attacker = await sessions.load(legacyCookie("lo"));
    expect(attacker.has("userId")).toBe(false);
    attacker.set("cart", ["planted"]);
    await attacker.commit();
    expect(await sessions.get(token)).toBeNull();
  });

  it("a revoke from elsewhere inside the window leaves the legacy cookie nothing", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "rv", data: { userId: "victim" }, expiresAt: null });
    await claim(sessions, "rv");
    clock.advance(1);
    expect(await sessions.revoke({ where: { userId: "victim" } })).toBe(1);
    expect((await sessions.load(legacyCookie("rv"))).has("userId")).toBe(false);
  });

  it("a login as another user inside the window (no rotationGrace) cuts the legacy cookie off", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "li", data: { userId: "victim" }, expiresAt: null });
    const token = await claim(sessions, "li");
    clock.advance(1);
    const victim = (await sessions.get(token)) as Session<typeof schema>;
    await victim.login("userId", "admin");
    await victim.commit();
    expect((await sessions.load(legacyCookie("li"))).has("userId")).toBe(false);
  });

  it("with rotationGrace, a login does not restart the window: the chain ends with the claim's window", async () => {
    const { sessions, clock } = setup({ rotationGrace: 60 });
    await sessions.importLegacy({ sid: "lg", data: { userId: "victim" }, expiresAt: null });
    const token = await claim(sessions, "lg");
    clock.advance(15);
    const victim = (await sessions.get(token)) as Session<typeof schema>;
    await victim.login("userId", "admin");
    await victim.commit();
    // Inside the window the chain reaches the session after the login (rotationGrace's own trade-off)...
    const inside = await sessions.load(legacyCookie("lg"));
    expect(inside.get("userId")).toBe("admin");
    await expect(inside.login("userId", "attacker")).rejects.toThrow();
    // ...but the login (a new record) does not restart the 20 s counted from the claim.
    clock.advance(6);
    expect((await sessions.load(legacyCookie("lg"))).has("userId")).toBe(false);
  });

  it("repeated follower requests do not extend the window", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "rep", data: { userId: "victim" }, expiresAt: null });
    const token = await claim(sessions, "rep");
    for (let step = 0; step < 6; step++) {
      clock.advance(3);
      const second = step * 3;
      const follower = await sessions.load(legacyCookie("rep"));
      expect(follower.get("userId")).toBe("victim");
      follower.set("cart", [`s${second}`]);
      expect(await follower.commit()).toEqual([]);
    }
    clock.advance(3);
    expect((await sessions.load(legacyCookie("rep"))).has("userId")).toBe(false);
    expect((await sessions.get(token))?.get("userId")).toBe("victim");
  });

  it("a follower cannot kill, stretch or wipe the identity of the new session", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "fk", data: { userId: "victim", cart: ["a"] }, expiresAt: null });
    const token = await claim(sessions, "fk");
    clock.advance(1);
    const follower = await sessions.load(legacyCookie("fk"));
    expect(() => follower.setExpiry(new Date(0))).toThrow();
    await expect(follower.destroy()).rejects.toThrow();
    await expect(follower.rotate()).rejects.toThrow();
    expect((await sessions.get(token))?.get("userId")).toBe("victim");
  });
});

describe("the import marker", () => {
  it("is never counted: operator inspect and revoke see sessions only", async () => {
    const { sessions } = setup();
    await sessions.importLegacy({ sid: "s1", data: { userId: "u" }, expiresAt: null });
    await sessions.importLegacy({ sid: "s2", data: { userId: "u" }, expiresAt: null });
    await claim(sessions, "s1");
    const listed = await sessions.operator.inspect({ where: { userId: "u" } });
    expect(listed).toHaveLength(2);
    expect((await sessions.operator.revoke({ where: { userId: "u" } })).count).toBe(2);
  });

  it("purgeExpired removes expired markers and shadows", async () => {
    const { sessions, map, clock } = setup();
    await sessions.importLegacy({ sid: "p1", data: { userId: "u" }, expiresAt: new Date(clock.now() + DAY) });
    await claim(sessions, "p1");
    clock.advance((2 * DAY) / 1000);
    const before = map.size;
    expect(before).toBeGreaterThanOrEqual(2);
    await sessions.purgeExpired();
    expect([...map.values()].filter((record) => record.successorId !== null)).toEqual([]);
  });

  it("a re-import after the marker expired, before purge, is a data answer, not a store error", async () => {
    const { sessions, clock } = setup();
    const now = clock.now();
    // The legacy store says it expires in 2 days; the old store is later found to still hold it
    // (a longer TTL set by express-session's touch): the import runs again after the marker died.
    await sessions.importLegacy({ sid: "re", data: { userId: "u" }, expiresAt: new Date(now + 2 * DAY) });
    clock.advance((3 * DAY) / 1000);
    const again = await sessions.importLegacy({
      sid: "re",
      data: { userId: "u" },
      expiresAt: new Date(clock.now() + 10 * DAY),
    });
    expect(["created", "exists"]).toContain(again);
    if (again === "created") expect((await sessions.load(legacyCookie("re"))).get("userId")).toBe("u");
  });
});

describe("a save() before the claim", () => {
  it("a save() before the claim does not leave data reachable by the legacy cookie after the window", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "sv", data: { userId: "victim" }, expiresAt: null });
    const session = await sessions.load(legacyCookie("sv"));
    session.set("cart", ["early"]);
    await session.save();
    const token = tokenOf(await session.commit());
    expect((await sessions.get(token))?.get("cart")).toEqual(["early"]);
    clock.advance(21);
    expect((await sessions.load(legacyCookie("sv"))).has("userId")).toBe(false);
  });
});

describe("fixed after the second attack: held claims and save()", () => {
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
});
