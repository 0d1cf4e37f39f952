/**
 * The legacy cookie after its claim (fixes after the issue-15.5 attack, memory store): the
 * follow window (`followSeconds`), the import marker that keeps re-imports out, the 400-day bound
 * on legacy expiries, and a response that cannot deliver the new cookie.
 */
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { holdLegacy } from "../../src/adapter-kit.js";
import { getSession, saveSession } from "../../src/adapters/next.js";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession, SessionConfigError, SessionInterruptedError, SessionUsageError } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "legacy follow secret";
const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]) });
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const DAY = 86_400_000;

function setup(followSeconds?: number) {
  const clock = testClock(Date.now());
  const map = new Map();
  const legacy = expressSessionCookie({ secrets: SECRET, ...(followSeconds === undefined ? {} : { followSeconds }) });
  const sessions = defineSession({ schema, store: memoryStore({ map }), legacy, now: clock.now });
  return { sessions, map, clock };
}

describe("followSeconds", () => {
  it("is checked at start-up", () => {
    for (const followSeconds of [-1, 301, Number.NaN, Number.POSITIVE_INFINITY, "20" as unknown as number]) {
      expect(() => setup(followSeconds), String(followSeconds)).toThrow(SessionConfigError);
    }
    expect(() => setup(0)).not.toThrow();
    expect(() => setup(300)).not.toThrow();
  });

  it("within the window the used cookie reaches the new session read-and-write, with no cookie and no identity change", async () => {
    const { sessions, clock } = setup();
    await sessions.importLegacy({ sid: "f1", data: { userId: "ada" }, expiresAt: null });
    const claim = await sessions.load(legacyCookie("f1"));
    const token = (await claim.commit())
      .find((value) => value.startsWith("__Host-sid="))
      ?.split(";")[0]
      ?.slice(11);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);

    clock.advance(19);
    const late = await sessions.load(legacyCookie("f1"));
    expect(late.get("userId")).toBe("ada");
    late.set("cart", ["sku"]);
    expect(await late.commit()).toEqual([]);
    expect((await sessions.get(token as string))?.get("cart")).toEqual(["sku"]);
    await expect((await sessions.load(legacyCookie("f1"))).rotate()).rejects.toBeInstanceOf(SessionInterruptedError);

    clock.advance(2);
    expect((await sessions.load(legacyCookie("f1"))).has("userId")).toBe(false);
  });

  it("with 0 a used cookie reaches nothing at once", async () => {
    const { sessions } = setup(0);
    await sessions.importLegacy({ sid: "f0", data: { userId: "bob" }, expiresAt: null });
    await (await sessions.load(legacyCookie("f0"))).commit();
    expect((await sessions.load(legacyCookie("f0"))).has("userId")).toBe(false);
  });

  it("a request that loaded before the claim and lost the race sends its write to the new session", async () => {
    const { sessions } = setup();
    await sessions.importLegacy({ sid: "race", data: { userId: "cy" }, expiresAt: null });
    const [first, second] = [await sessions.load(legacyCookie("race")), await sessions.load(legacyCookie("race"))];
    const token = (await first.commit())
      .find((value) => value.startsWith("__Host-sid="))
      ?.split(";")[0]
      ?.slice(11);
    second.set("cart", ["late"]);
    expect(await second.commit()).toEqual([]);
    expect((await sessions.get(token as string))?.get("cart")).toEqual(["late"]);
  });
});

describe("the import marker", () => {
  it("lives until the legacy expiry, at most 400 days, whatever caps the session", async () => {
    const { sessions, map, clock } = setup();
    const now = clock.now();
    await sessions.importLegacy({ sid: "m1", data: { userId: "u" }, expiresAt: new Date(now + 30 * DAY) });
    await sessions.importLegacy({ sid: "m2", data: { userId: "u" }, expiresAt: null });
    await sessions.importLegacy({ sid: "m3", data: { userId: "u" }, expiresAt: new Date("+010000-01-01T00:00:00.000Z") });
    const markers = [...map.values()].filter((record) => record.successorId !== null);
    const lives = markers.map((record) => Math.round((record.expiresAt.getTime() - now) / DAY)).sort((a, b) => a - b);
    expect(lives).toEqual([30, 400, 400]);
    // None of them matches a query: they are not sessions.
    expect(await sessions.findMany({ where: { userId: "u" } })).toHaveLength(3);
    expect(await sessions.revoke({ where: { userId: "u" } })).toBe(3);
    expect(await sessions.importLegacy({ sid: "m1", data: { userId: "u" }, expiresAt: new Date(now + 30 * DAY) })).toBe("exists");
  });

  it("a session imported before markers existed gets one at the next run", async () => {
    const { sessions, map } = setup();
    await sessions.importLegacy({ sid: "old", data: { userId: "u" }, expiresAt: null });
    for (const [id, record] of map) if (record.successorId !== null) map.delete(id);
    expect(await sessions.importLegacy({ sid: "old", data: { userId: "u" }, expiresAt: null })).toBe("exists");
    expect([...map.values()].filter((record) => record.successorId !== null)).toHaveLength(1);
  });
});

describe("a response that cannot deliver the new cookie", () => {
  it("no-cookies: reads work, nothing is claimed, a change throws before anything is stored", async () => {
    const { sessions, map } = setup();
    await sessions.importLegacy({ sid: "held", data: { userId: "di" }, expiresAt: null });
    const before = JSON.stringify([...map.entries()]);
    const reader = await sessions.load(legacyCookie("held"));
    holdLegacy(reader, "no-cookies");
    expect(reader.get("userId")).toBe("di");
    expect(await reader.commit()).toEqual([]);
    const writer = await sessions.load(legacyCookie("held"));
    holdLegacy(writer, "no-cookies");
    writer.set("cart", ["x"]);
    await expect(writer.commit()).rejects.toBeInstanceOf(SessionUsageError);
    expect(JSON.stringify([...map.entries()])).toBe(before);
    expect((await sessions.load(legacyCookie("held"))).get("userId")).toBe("di");
  });

  it("abandoned: nothing is claimed nor saved, and no error", async () => {
    const { sessions, map } = setup();
    await sessions.importLegacy({ sid: "gone", data: { userId: "ed" }, expiresAt: null });
    const before = JSON.stringify([...map.entries()]);
    const session = await sessions.load(legacyCookie("gone"));
    holdLegacy(session, "abandoned");
    session.set("cart", ["x"]);
    expect(await session.commit()).toEqual([]);
    expect(JSON.stringify([...map.entries()])).toBe(before);
  });
});

describe("Next: saveSession where cookies cannot be set", () => {
  const jar = (sid: string, writable: boolean) => {
    const written = new Map<string, string>();
    return {
      written,
      get: (name: string) => (name === "connect.sid" ? { value: legacyCookie(sid).split("=")[1] as string } : undefined),
      set: (name: string, value: string) => {
        if (!writable) throw new Error("Cookies can only be modified in a Server Action or Route Handler");
        written.set(name, value);
      },
    };
  };

  it("a Server Component's saveSession does not claim the legacy session; a Route Handler's does", async () => {
    const { sessions } = setup(0);
    await sessions.importLegacy({ sid: "sc", data: { userId: "fay" }, expiresAt: null });
    const component = await getSession(sessions, { cookies: () => jar("sc", false) });
    expect(component.get("userId")).toBe("fay");
    expect(await saveSession(component)).toBe(false);
    component.set("cart", ["x"]);
    await expect(saveSession(component)).rejects.toBeInstanceOf(SessionUsageError);
    // Still unclaimed: the next request with the old cookie is logged in.
    const cookies = jar("sc", true);
    const action = await getSession(sessions, { cookies: () => cookies });
    expect(action.get("userId")).toBe("fay");
    expect(action.get("cart")).toEqual([]);
    expect(await saveSession(action)).toBe(true);
    expect(cookies.written.get("__Host-sid")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies.written.get("connect.sid")).toBe("");
  });
});
