import { expect, it } from "vitest";
import { SessionValidationError } from "../../../src/index.js";
import { attribute, cookieHeader } from "../../helpers/cookies.js";
import { writes } from "../../helpers/counting-store.js";
import { type ContractScope, follow, makeSessions, type StoreHarness, serverOnly, signedIn } from "./setup.js";

const DAY = 86400;

/** Idle, rolling, absolute and per-key expiry, all decided by the injected clock. */
export function expiryContract(harness: () => StoreHarness, scope: ContractScope): void {
  const serverIt = serverOnly(scope);
  it("R26/R28: maxAge ends an idle session on the server; its cookie, replayed later, loads a fresh session", async () => {
    const { sessions, clock } = makeSessions(harness(), { maxAge: "1h", rolling: false });
    const setCookie = await signedIn(sessions);
    expect(attribute(setCookie[0] as string, "Max-Age")).toBe("3600");
    expect((await sessions.load(cookieHeader(setCookie))).expiryAge).toBe(3600);
    clock.advance(3599);
    expect((await sessions.load(cookieHeader(setCookie))).get("userId")).toBe("u1");
    clock.advance(2);
    const expired = await sessions.load(cookieHeader(setCookie));
    expect(expired.isNew).toBe(true);
    expect(expired.get("userId")).toBeUndefined();
  });

  serverIt("R29: rolling with touchAfter writes at most one expiry refresh per interval when nothing changed", async () => {
    const { sessions, clock, calls, resetCalls } = makeSessions(harness(), { maxAge: "1h", rolling: true, touchAfter: "5m" });
    const cookie = cookieHeader(await signedIn(sessions));
    resetCalls();
    for (let i = 0; i < 4; i++) {
      clock.advance(60);
      expect(await (await sessions.load(cookie)).commit()).toEqual([]);
    }
    expect(writes(calls)).toBe(0);
    clock.advance(61); // 301 s since the last write
    const touched = await sessions.load(cookie);
    const setCookie = await touched.commit();
    expect(calls.touch).toBe(1);
    expect(calls.patch + calls.replace).toBe(0);
    expect(attribute(setCookie[0] as string, "Max-Age")).toBe("3600");
    expect(cookieHeader(setCookie)).toBe(cookie);
    // Used every 50 minutes, the session outlives its first hour many times over.
    for (let i = 0; i < 5; i++) {
      clock.advance(3000);
      const again = await sessions.load(cookie);
      expect(again.get("userId")).toBe("u1");
      await again.commit();
    }
  });

  serverIt("a write inside the touchAfter window keeps expiry and cookie; a write after it moves both", async () => {
    const { sessions, clock } = makeSessions(harness(), { maxAge: "1h", touchAfter: "5m" });
    const cookie = cookieHeader(await signedIn(sessions));
    clock.advance(120);
    const early = await sessions.load(cookie);
    early.set("visits", 1);
    expect(await early.commit()).toEqual([]);
    expect(early.expiryAge).toBe(3600 - 120);
    clock.advance(200);
    const late = await sessions.load(cookie);
    expect(late.get("visits")).toBe(1);
    late.set("visits", 2);
    const [refreshed] = await late.commit();
    expect(attribute(refreshed as string, "Max-Age")).toBe("3600");
    clock.advance(3599);
    expect((await sessions.load(cookie)).get("visits")).toBe(2);
  });

  serverIt("without rolling, reads do not extend the session; writes do (Django)", async () => {
    const { sessions, clock, calls, resetCalls } = makeSessions(harness(), { maxAge: "1h", rolling: false });
    const cookie = cookieHeader(await signedIn(sessions));
    resetCalls();
    clock.advance(1800);
    expect(await (await sessions.load(cookie)).commit()).toEqual([]);
    expect(writes(calls)).toBe(0);
    clock.advance(1801);
    expect((await sessions.load(cookie)).isNew).toBe(true);
  });

  it("R27: absoluteMaxAge ends a session however active it is", async () => {
    const { sessions, clock } = makeSessions(harness(), { maxAge: "1h", touchAfter: 0, absoluteMaxAge: "3h" });
    let cookie = cookieHeader(await signedIn(sessions));
    for (let i = 0; i < 5; i++) {
      clock.advance(1800); // 2.5 h of activity in all
      const active = await sessions.load(cookie);
      expect(active.get("userId")).toBe("u1");
      active.set("visits", i);
      cookie = follow(cookie, await active.commit());
    }
    clock.advance(1799);
    const last = await sessions.load(cookie);
    expect(last.get("userId")).toBe("u1");
    expect(last.expiresAt.getTime()).toBe(clock.now() + 1000); // capped at creation + 3 h, not now + 1 h
    expect(last.expiryAge).toBe(1);
    clock.advance(1);
    expect((await sessions.load(cookie)).isNew).toBe(true);
  });

  it("setExpiry(0) gives a cookie without Max-Age or Expires; the server still applies maxAge", async () => {
    const { sessions, clock } = makeSessions(harness(), { maxAge: "1h", rolling: false });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    s.setExpiry(0);
    const setCookie = await s.commit();
    expect(attribute(setCookie[0] as string, "Max-Age")).toBeUndefined();
    expect(attribute(setCookie[0] as string, "Expires")).toBeUndefined();
    clock.advance(3601);
    expect((await sessions.load(cookieHeader(setCookie))).isNew).toBe(true);
  });

  it("setExpiry(Date) fixes the instant, setExpiry(duration) sets the idle period, null goes back to maxAge", async () => {
    const { sessions, clock } = makeSessions(harness(), { maxAge: "1h", rolling: false });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    s.setExpiry(new Date(clock.now() + 2 * DAY * 1000));
    const setCookie = await s.commit();
    expect(attribute(setCookie[0] as string, "Max-Age")).toBe(String(2 * DAY));
    let cookie = cookieHeader(setCookie);
    clock.advance(DAY);
    const held = await sessions.load(cookie);
    expect(held.get("userId")).toBe("u1");
    held.setExpiry({ minutes: 10 });
    const idleCookie = await held.commit();
    expect(attribute(idleCookie[0] as string, "Max-Age")).toBe("600");
    cookie = follow(cookie, idleCookie);
    clock.advance(599);
    const idle = await sessions.load(cookie);
    expect(idle.get("userId")).toBe("u1");
    idle.setExpiry(null);
    const globalCookie = await idle.commit();
    expect(attribute(globalCookie[0] as string, "Max-Age")).toBe("3600");
    cookie = follow(cookie, globalCookie);
    clock.advance(3599);
    expect((await sessions.load(cookie)).get("userId")).toBe("u1");
  });

  it("R16: clear() dropping a longer setExpiry re-sends the cookie, so the browser never outlives the server", async () => {
    const { sessions } = makeSessions(harness(), { maxAge: "1h", rolling: false });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    s.setExpiry({ days: 30 });
    const setCookie = await s.commit();
    expect(attribute(setCookie[0] as string, "Max-Age")).toBe(String(30 * DAY));
    const cleared = await sessions.load(cookieHeader(setCookie));
    cleared.clear();
    cleared.set("theme", "dark");
    const [resent] = await cleared.commit();
    expect(attribute(resent as string, "Max-Age")).toBe("3600");
  });

  it("a bad ttl or setExpiry value is a SessionValidationError and changes nothing", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    expect(() => s.set("otp", "1", { ttl: "soon" as never })).toThrow(SessionValidationError);
    expect(() => s.setExpiry(-5)).toThrow(SessionValidationError);
    expect(() => s.setExpiry(new Date(Number.NaN))).toThrow(SessionValidationError);
    expect(s.has("otp")).toBe(false);
    expect(s.isModified).toBe(false);
  });

  it("a per-key ttl lapses while the session lives on", async () => {
    const { sessions, clock } = makeSessions(harness(), { maxAge: "1h" });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    s.set("otp", "123456", { ttl: "5m" });
    const cookie = cookieHeader(await s.commit());
    clock.advance(299);
    expect((await sessions.load(cookie)).get("otp")).toBe("123456");
    clock.advance(1);
    const later = await sessions.load(cookie);
    expect(later.has("otp")).toBe(false);
    expect(later.get("otp")).toBeUndefined();
    expect(later.get("userId")).toBe("u1");
    later.set("visits", 1);
    const next = follow(cookie, await later.commit());
    expect((await sessions.load(next)).all()).toEqual({ userId: "u1", visits: 1, cart: [], theme: "light" });
  });
}
