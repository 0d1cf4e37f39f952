import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  defineSession,
  SessionConfigError,
  type SessionEvent,
  type SessionOptions,
  SessionTooLargeError,
  SessionUsageError,
} from "../../src/index.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { attribute, cookieHeader } from "../helpers/cookies.js";

const A = "secret-A-secret-A-secret-A-secret-A-0001";
const B = "secret-B-secret-B-secret-B-secret-B-0002";
const schema = z.object({ userId: z.string().optional(), note: z.string().optional(), visits: z.number().default(0) });

function sessionsWith(
  secrets: string[],
  options: Partial<SessionOptions<typeof schema>> & { encrypt?: boolean; compress?: boolean } = {},
) {
  const { encrypt = false, compress = true, ...rest } = options;
  return defineSession({ schema, store: cookieStore({ secrets, encrypt, compress }), ...rest });
}

async function loggedIn(sessions: ReturnType<typeof sessionsWith>, userId = "u1"): Promise<string> {
  const s = await sessions.load(undefined);
  s.set("userId", userId);
  return cookieHeader(await s.commit());
}

describe("cookie store through defineSession", () => {
  it("R37: a cookie replayed after the expiry sealed inside it is a fresh session, whatever the browser kept", async () => {
    const clock = testClock();
    const sessions = sessionsWith([A], { maxAge: "1h", now: clock.now });
    const cookie = await loggedIn(sessions);
    clock.advance(3599);
    expect((await sessions.load(cookie)).get("userId")).toBe("u1");
    clock.advance(2);
    const replayed = await sessions.load(cookie);
    expect(replayed.isNew).toBe(true);
    expect(replayed.get("userId")).toBeUndefined();
  });

  it("R34: secrets A → [B, A] → [B]: the A cookie loads in the second phase, is re-sealed with B on the next save, and fails in the third", async () => {
    const cookieA = await loggedIn(sessionsWith([A]));
    const rotating = sessionsWith([B, A]);
    const loaded = await rotating.load(cookieA);
    expect(loaded.get("userId")).toBe("u1");
    const resealed = await loaded.commit(); // nothing changed, but A must not keep signing
    expect(resealed).toHaveLength(1);
    const cookieB = cookieHeader(resealed);
    expect(cookieB).not.toBe(cookieA);

    const onlyB = sessionsWith([B]);
    expect((await onlyB.load(cookieA)).isNew).toBe(true);
    expect((await onlyB.load(cookieB)).get("userId")).toBe("u1");
    const again = await onlyB.load(cookieB);
    expect(await again.commit()).toEqual([]); // already under the current secret
  });

  it("B8: a value within maxBytes whose sealed cookie would pass 4096 bytes is refused at set(), naming the size; nothing changes and commit sends the last state that fit", async () => {
    const sessions = sessionsWith([A], { encrypt: true, compress: false });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    // 3,500 bytes of data is within the default maxBytes (4096), but base64 of it alone is ~4,700 characters.
    const noise = Array.from(crypto.getRandomValues(new Uint8Array(3500)), (b) => String.fromCharCode(97 + (b % 26))).join("");
    let error: unknown;
    try {
      s.set("note", noise);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SessionTooLargeError);
    expect((error as SessionTooLargeError).bytes).toBeGreaterThan(4096);
    expect((error as SessionTooLargeError).maxBytes).toBe(4096);
    expect(s.has("note")).toBe(false);
    expect(() => s.update({ note: noise, visits: 2 })).toThrow(SessionTooLargeError);
    expect(() => s.flash("note", noise)).toThrow(SessionTooLargeError);
    expect(() => s.setdefault("note", noise)).toThrow(SessionTooLargeError);
    expect(s.all()).toEqual({ userId: "u1", visits: 0 });
    const [setCookie] = await s.commit();
    expect(Buffer.byteLength(setCookie as string)).toBeLessThanOrEqual(4096);
    expect((await sessions.load(cookieHeader([setCookie as string]))).all()).toEqual({ userId: "u1", visits: 0 });
  });

  it("B8: setExpiry that would push the cookie past 4096 bytes (browser-session back to a Max-Age) is refused at the call", async () => {
    const sessions = sessionsWith([A], { compress: false });
    const s = await sessions.load(undefined);
    s.setExpiry(0); // no Max-Age, no Expires: the value may use those bytes
    let size = 2000;
    // Grow the note until the next character would not fit, then ask for the longer, persistent cookie.
    for (let step = 1024; step >= 1; step >>= 1) {
      try {
        s.set("note", "n".repeat(size + step));
        size += step;
      } catch (error) {
        expect(error).toBeInstanceOf(SessionTooLargeError);
      }
    }
    expect(() => s.setExpiry(null)).toThrow(SessionTooLargeError);
    expect(() => s.setExpiry({ days: 1 })).toThrow(SessionTooLargeError);
    const [setCookie] = await s.commit();
    expect(setCookie).not.toMatch(/Max-Age/);
    expect(Buffer.byteLength(setCookie as string)).toBeLessThanOrEqual(4096);
    expect(Buffer.byteLength(setCookie as string)).toBeGreaterThan(4096 - 80);
  });

  it("B11: two managers sharing a secret (sid and admin_sid) do not accept each other's cookies: a fresh session and a tampered event", async () => {
    const events: SessionEvent["type"][] = [];
    const onEvent = (e: SessionEvent) => events.push(e.type);
    const store = cookieStore({ secrets: [A] });
    const users = defineSession({ schema, store, cookie: { name: "sid" }, onEvent });
    const admins = defineSession({ schema, store: cookieStore({ secrets: [A] }), cookie: { name: "admin_sid" }, onEvent });
    const sameStore = defineSession({ schema, store, cookie: { name: "admin_sid" }, onEvent });
    const userValue = (await loggedIn(users, "mallory")).split("=")[1] as string;
    const adminValue = (await loggedIn(admins, "root")).split("=")[1] as string;
    for (const manager of [admins, sameStore]) {
      const forged = await manager.load(`admin_sid=${userValue}`);
      expect(forged.isNew).toBe(true);
      expect(forged.get("userId")).toBeUndefined();
      expect(await manager.get(userValue)).toBeNull();
    }
    expect((await users.load(`sid=${adminValue}`)).isNew).toBe(true);
    expect(events.filter((type) => type === "tampered")).toHaveLength(5);
    expect((await admins.load(`admin_sid=${adminValue}`)).get("userId")).toBe("root");
    expect((await sameStore.load(`admin_sid=${adminValue}`)).get("userId")).toBe("root");
    expect((await users.load(`sid=${userValue}`)).get("userId")).toBe("mallory");
  });

  it("maxBytes defaults to 4096 for a cookie store: a 5 KB value is refused at set()", async () => {
    const s = await sessionsWith([A]).load(undefined);
    expect(() => s.set("note", "x".repeat(5000))).toThrow(SessionTooLargeError);
    expect(s.isEmpty).toBe(true);
  });

  it("R36: an encrypted cookie shows no plaintext of the data", async () => {
    const marker = "VERY-SECRET-MARKER-1234";
    const sessions = sessionsWith([A], { encrypt: true });
    const s = await sessions.load(undefined);
    s.set("note", marker.repeat(3));
    const [setCookie] = await s.commit();
    const value = (setCookie as string).split(";")[0]?.split("=")[1] as string;
    expect(value).not.toContain(marker);
    for (const part of value.split(".")) expect(Buffer.from(part, "base64url").toString("latin1")).not.toContain(marker);
    expect((await sessions.load(cookieHeader([setCookie as string]))).get("note")).toBe(marker.repeat(3));
  });

  it("R38: a tampered cookie is a fresh session with a tampered event, never a throw", async () => {
    const events: SessionEvent["type"][] = [];
    const sessions = sessionsWith([A], { onEvent: (e) => events.push(e.type) });
    const cookie = await loggedIn(sessions);
    const flipped = `${cookie.slice(0, -5)}${cookie.at(-5) === "A" ? "B" : "A"}${cookie.slice(-4)}`;
    const tampered = await sessions.load(flipped);
    expect(tampered.isNew).toBe(true);
    expect(await tampered.commit()).toEqual([]);
    expect(events).toContain("tampered");
    expect((await sessions.load(`__Host-sid=${"x".repeat(5000)}`)).isNew).toBe(true);
  });

  it("hostile Cookie headers (10 KB and 10 MB values, NUL, lone surrogates, a v1 seal, a seal cut short) give a fresh session and a tampered event, never a throw", async () => {
    const events: SessionEvent["type"][] = [];
    const sessions = sessionsWith([A], { onEvent: (e) => events.push(e.type) });
    const name = sessions.cookieName;
    const value = (await loggedIn(sessions)).split("=")[1] as string;
    const headers = [
      `${name}=${"A".repeat(10 * 1024)}`,
      `${name}=${"A".repeat(10 * 1024 * 1024)}`,
      `${name}=\u0000${value}`,
      `${name}=${value.slice(0, 30)}\uD800${value.slice(31)}`,
      `${name}=${value.slice(0, -1)}\uDC00`,
      `${name}=v1${value.slice(2)}`,
      `${name}=${value.slice(0, value.length >> 1)}`,
      `${name}=${value}.${value}`,
    ];
    for (const header of headers) {
      const session = await sessions.load(header);
      expect(session.isNew).toBe(true);
      expect(await session.commit()).toEqual([]);
    }
    expect(events.filter((type) => type === "tampered")).toHaveLength(headers.length);
    expect((await sessions.load(`${name}=${value}`)).get("userId")).toBe("u1");
  });

  it("findMany, revoke and destroy(token) say clearly (SESSION_USAGE, a call-time refusal) that a cookie store cannot; purgeExpired has nothing to do", async () => {
    const sessions = sessionsWith([A]);
    await expect(sessions.findMany({ where: { userId: "u1" } })).rejects.toBeInstanceOf(SessionUsageError);
    await expect(sessions.revoke({ where: { userId: "u1" } })).rejects.toThrow(/needs a server-side store/);
    await expect(sessions.destroy("anything")).rejects.toBeInstanceOf(SessionUsageError);
    expect(await sessions.purgeExpired()).toBe(0);
    // The operator surface says the same, and reports nothing to count or reclaim.
    await expect(sessions.operator.inspect({ where: { userId: "u1" } })).rejects.toBeInstanceOf(SessionUsageError);
    await expect(sessions.operator.revoke({ where: { userId: "u1" } })).rejects.toBeInstanceOf(SessionUsageError);
    expect([await sessions.operator.stats(), await sessions.operator.countExpired(), await sessions.operator.purge()]).toEqual([
      null,
      null,
      0,
    ]);
    expect(await sessions.operator.vacuum()).toBe(false);
    expect(() =>
      defineSession({ schema, store: cookieStore({ secrets: [A] }), cache: { ...memoryStore(), put: async () => {} } as never }),
    ).toThrow(SessionConfigError);
  });

  it("destroy() clears the cookie; rotate() issues a new cookie but cannot kill the old one (documented)", async () => {
    const sessions = sessionsWith([A]);
    const cookie = await loggedIn(sessions);
    const s = await sessions.load(cookie);
    await s.rotate();
    const [rotated] = await s.commit();
    expect(cookieHeader([rotated as string])).not.toBe(cookie);
    expect((await sessions.load(cookie)).get("userId")).toBe("u1"); // no server state to revoke it
    const out = await sessions.load(cookie);
    await out.destroy();
    const [cleared] = await out.commit();
    expect(attribute(cleared as string, "Max-Age")).toBe("0");
  });

  it("an unchanged session inside the touchAfter window sends no cookie; a write always re-seals", async () => {
    const clock = testClock();
    const sessions = sessionsWith([A], { now: clock.now });
    const cookie = await loggedIn(sessions);
    clock.advance(60);
    expect(await (await sessions.load(cookie)).commit()).toEqual([]);
    const s = await sessions.load(cookie);
    s.set("visits", 1);
    const [written] = await s.commit();
    expect((await sessions.load(cookieHeader([written as string]))).get("visits")).toBe(1);
  });
});
