import { expect, it } from "vitest";
import * as z from "zod";
import { SessionTooLargeError, SessionValidationError } from "../../../src/index.js";
import { cookieHeader } from "../../helpers/cookies.js";
import { entryMeasure, follow, makeSessions, type StoreHarness } from "./setup.js";

/** Values, dict operations and validation: what an app puts in and gets back. */
export function dataContract(harness: () => StoreHarness): void {
  it("R44: Date, Map, Set, BigInt, nested objects and Unicode come back equal after a new load from the Set-Cookie", async () => {
    const { sessions } = makeSessions(harness());
    const first = await sessions.load(undefined);
    const lastSeen = new Date("2026-03-04T05:06:07.089Z");
    first.set("lastSeen", lastSeen);
    first.set("tags", new Set(["a", "β", "😀"]));
    first.set("scores", new Map([["x", 12345678901234567890n]]));
    first.set("profile", { name: "Zoë 日本 \u2028", nested: { at: new Date(0) } });
    first.set("cart", [{ sku: "sku-1", qty: 2 }]);
    const cookie = cookieHeader(await first.commit());

    const second = await sessions.load(cookie);
    expect(second.isNew).toBe(false);
    expect(second.get("lastSeen")).toEqual(lastSeen);
    expect(second.get("lastSeen")).toBeInstanceOf(Date);
    expect(second.get("tags")).toEqual(new Set(["a", "β", "😀"]));
    expect(second.get("scores")?.get("x")).toBe(12345678901234567890n);
    expect(second.get("profile")).toEqual({ name: "Zoë 日本 \u2028", nested: { at: new Date(0) } });
    expect(second.get("cart")).toEqual([{ sku: "sku-1", qty: 2 }]);
  });

  it("get applies schema defaults and fallbacks; has ignores defaults", async () => {
    const { sessions } = makeSessions(harness());
    const session = await sessions.load(undefined);
    expect(session.get("theme")).toBe("light");
    expect(session.get("cart")).toEqual([]);
    expect(session.get("userId")).toBeUndefined();
    expect(session.get("userId", "anon")).toBe("anon");
    expect(session.has("theme")).toBe(false);
    session.set("theme", "dark");
    expect(session.has("theme")).toBe(true);
    expect(session.get("theme", "light")).toBe("dark");
  });

  it("pop, delete, setdefault, update, clear and all behave as Django's dict operations, across a reload", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    s.update({ userId: "u1", theme: "dark", visits: 3 });
    expect(s.setdefault("visits", 9)).toBe(3);
    expect(s.setdefault("notice", "hi")).toBe("hi");
    const cookie = cookieHeader(await s.commit());

    const r = await sessions.load(cookie);
    expect(r.pop("notice")).toBe("hi");
    expect(r.pop("notice", "gone")).toBe("gone");
    expect(r.delete("visits")).toBe(true);
    expect(r.delete("visits")).toBe(false);
    expect(r.all()).toEqual({ userId: "u1", theme: "dark", cart: [], visits: 0 });
    expect(Object.isFrozen(r.all())).toBe(true);
    const second = follow(cookie, await r.commit());

    const again = await sessions.load(second);
    expect(again.has("notice")).toBe(false);
    expect(again.has("visits")).toBe(false);
    again.clear();
    expect(again.isEmpty).toBe(true);
    again.set("theme", "light");
    const third = follow(second, await again.commit());
    expect((await sessions.load(third)).all()).toEqual({ theme: "light", cart: [], visits: 0 });
  });

  it("an invalid set throws SessionValidationError with Zod's issues and changes nothing", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    s.set("theme", "dark");
    const error = catchError(() => s.set("theme", "blue" as never));
    expect(error).toBeInstanceOf(SessionValidationError);
    expect((error as SessionValidationError).code).toBe("SESSION_VALIDATION");
    expect((error as SessionValidationError).issues[0]?.code).toBe("invalid_value");
    expect(catchError(() => s.set("cart", [{ sku: "a", qty: -1 }]))).toBeInstanceOf(SessionValidationError);
    expect(catchError(() => s.set("nope" as never, 1 as never))).toBeInstanceOf(SessionValidationError);
    expect(s.get("theme")).toBe("dark");
    expect(s.get("cart")).toEqual([]);
  });

  it("update validates every key first: one bad value and none is written", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    expect(catchError(() => s.update({ userId: "u1", visits: 1.5 }))).toBeInstanceOf(SessionValidationError);
    expect(s.has("userId")).toBe(false);
    expect(s.isModified).toBe(false);
  });

  it("R40/R44: a string with U+0000 is rejected at set(), not at save", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    expect((catchError(() => s.set("notice", "a\u0000b")) as SessionValidationError).code).toBe("SESSION_VALIDATION");
    expect(s.isEmpty).toBe(true);
  });

  it("R40: a set that would pass maxBytes throws SESSION_TOO_LARGE and leaves the data as it was", async () => {
    const { sessions } = makeSessions(harness(), { maxBytes: 1024 });
    const s = await sessions.load(undefined);
    s.set("notice", "x".repeat(500));
    const error = catchError(() => s.set("userId", "y".repeat(600)));
    expect(error).toBeInstanceOf(SessionTooLargeError);
    expect((error as SessionTooLargeError).code).toBe("SESSION_TOO_LARGE");
    expect(s.has("userId")).toBe(false);
    const cookie = cookieHeader(await s.commit());
    const reloaded = await sessions.load(cookie);
    expect(catchError(() => reloaded.set("profile", { name: "z".repeat(600) }))).toBeInstanceOf(SessionTooLargeError);
    reloaded.set("notice", "small");
    await reloaded.save();
  });

  it("R40: a reloaded session's size is counted to the byte (UTF-8), and a lapsed key no longer counts", async () => {
    const h = harness();
    const { sessions, clock } = makeSessions(h, { maxBytes: 1024 });
    // Each store's own measure (B9: Postgres counts jsonb's text form); by default 11 + 2 × 250 =
    // 511 bytes for {"json":"é…é"}, which is 261 characters. The otp entry lapses in 5 minutes.
    const measure = entryMeasure(h);
    const s = await sessions.load(undefined);
    s.set("notice", "é".repeat(250));
    s.set("otp", "1".repeat(300), { ttl: "5m" });
    const cookie = cookieHeader(await s.commit());
    const reloaded = await sessions.load(cookie);
    const notice = measure("notice", { json: "é".repeat(250) });
    const otp = measure("otp", { json: "1".repeat(300), exp: clock.now() + 300_000 });
    const userId = measure("userId", { json: "" }); // plus one byte per "y"
    // The room left: one byte more than it must throw, exactly it must not.
    const room = 1024 - notice - otp - userId;
    expect(catchError(() => reloaded.set("userId", "y".repeat(room + 1)))).toBeInstanceOf(SessionTooLargeError);
    reloaded.set("userId", "y".repeat(room));
    clock.advance(301);
    const later = await sessions.load(cookie);
    expect(later.has("otp")).toBe(false);
    later.set("userId", "y".repeat(1024 - notice - userId));
    expect(catchError(() => later.set("userId", "y".repeat(1024 - notice - userId + 1)))).toBeInstanceOf(SessionTooLargeError);
  });

  it("flash survives until consumeFlash reads it once", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    s.flash("notice", "Saved!");
    const cookie = cookieHeader(await s.commit());
    const next = await sessions.load(cookie);
    expect(next.get("notice")).toBe("Saved!");
    expect(next.consumeFlash("notice")).toBe("Saved!");
    expect(next.consumeFlash("notice")).toBeUndefined();
    expect((await sessions.load(follow(cookie, await next.commit()))).has("notice")).toBe(false);
    next.set("notice", "plain");
    expect(next.consumeFlash("notice")).toBeUndefined();
  });

  it("R41/R42: keys named __proto__, constructor, then and save are plain data", async () => {
    const schema = z.object({
      // biome-ignore lint/suspicious/noThenProperty: the point of the test is a stored key named "then"
      then: z.string().optional(),
      save: z.string().optional(),
      constructor: z.string().optional(),
      map: z.record(z.string(), z.number()).optional(),
    });
    const { sessions } = makeSessions(harness(), { schema });
    const s = await sessions.load(undefined);
    s.set("then", "x");
    s.set("save", "y");
    s.set("constructor", "z");
    s.set("map", JSON.parse('{"__proto__": 1, "a": 2}') as Record<string, number>);
    const cookie = cookieHeader(await s.commit());
    const loaded = await sessions.load(cookie); // awaiting proves a "then" key did not make the session thenable
    expect(typeof loaded.save).toBe("function");
    expect(loaded.get("then")).toBe("x");
    expect(loaded.get("constructor")).toBe("z");
    expect(loaded.get("map")).toEqual({ a: 2 });
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });
}

export function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a throw");
}
