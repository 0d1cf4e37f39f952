/**
 * The legacy cookie in the core (issue 15.5), on the memory store: express-session's signature as
 * the real cookie-signature package makes it, every adapter's load, the one-time rotation and its
 * races, and the importer's one way in (`importLegacy`).
 */
import { createRequire } from "node:module";
import { Hono } from "hono";
import { NextRequest } from "next/server.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { withSession } from "../../src/adapters/fetch.js";
import { honoSession } from "../../src/adapters/hono.js";
import { getSession, type NextCookies, saveSession, sessionMiddleware } from "../../src/adapters/next.js";
import { expressSessionCookie } from "../../src/express-session/index.js";
import {
  defineSession,
  SessionConfigError,
  type SessionEvent,
  SessionInterruptedError,
  SessionTooLargeError,
  SessionUsageError,
  SessionValidationError,
} from "../../src/index.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };

const SECRET = "the old app's secret";
const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]), note: z.string().optional() });

/** The Cookie header pair express-session sends for `sid`: `s:` + cookie-signature's sign, URL-encoded. */
const legacyCookie = (sid: string, secret = SECRET) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, secret)}`)}`;

function setup(options: { rotationGrace?: number; absoluteMaxAge?: number; maxBytes?: number } = {}) {
  const map = new Map();
  const events: SessionEvent[] = [];
  const sessions = defineSession({
    schema,
    store: memoryStore({ map }),
    legacy: expressSessionCookie({ secrets: ["a newer secret", SECRET], followSeconds: 0 }),
    onEvent: (event) => events.push(event),
    ...options,
  });
  const inAnHour = new Date(Date.now() + 3_600_000);
  const importOne = (sid: string, data: Record<string, unknown> = { userId: `u_${sid}` }) =>
    sessions.importLegacy({ sid, data, expiresAt: inAnHour });
  return { sessions, map, events, importOne, inAnHour };
}

const tesseraCookie = (headers: string[]) => headers.find((value) => value.startsWith("__Host-sid="));
const pairOf = (header: string | undefined) => (header as string).split(";")[0] as string;

describe("expressSessionCookie", () => {
  const cookie = expressSessionCookie({ secrets: ["new", SECRET] });
  const cookieValueOf = (pair: string) => pair.slice("connect.sid=".length);

  it("verifies cookie-signature's signature with any of the secrets and returns the sid", () => {
    expect(cookie.verify(cookieValueOf(legacyCookie("abc123")))).toBe("abc123");
    expect(cookie.verify(cookieValueOf(legacyCookie("abc123", "new")))).toBe("abc123");
    // Not URL-encoded (some proxies decode): still the same signed value.
    expect(cookie.verify(`s:${signature.sign("abc123", SECRET)}`)).toBe("abc123");
    // A sid with a dot: the signature is after the last one, as in cookie-signature.
    expect(cookie.verify(cookieValueOf(legacyCookie("a.b.c")))).toBe("a.b.c");
  });

  it("refuses what does not verify, without throwing", () => {
    const good = `s:${signature.sign("abc123", SECRET)}`;
    const hostile = [
      cookieValueOf(legacyCookie("abc123", "another secret")),
      "abc123",
      "s:abc123",
      `s:.${good.split(".")[1]}`,
      `${good}x`,
      good.slice(0, -1),
      good.replace("abc123", "abc124"),
      `s%3A%ED%A0%80abc.${good.split(".")[1]}`,
      `s%3Aabc%00.${good.split(".")[1]}`,
      `s%3A${"a".repeat(10_240)}.${good.split(".")[1]}`,
      "%E0%A4%A",
      "",
      "s:",
      `s:\ud800.${"A".repeat(43)}`,
    ];
    for (const value of hostile) expect(cookie.verify(value), value.slice(0, 40)).toBeNull();
  });

  it("checks its options at start-up", () => {
    expect(() => expressSessionCookie({ secrets: [] })).toThrow(SessionConfigError);
    expect(() => expressSessionCookie({ secrets: "" })).toThrow(SessionConfigError);
    expect(() => expressSessionCookie({ secrets: [SECRET, 42 as unknown as string] })).toThrow(SessionConfigError);
    expect(() =>
      defineSession({ schema, store: memoryStore(), legacy: expressSessionCookie({ secrets: SECRET, name: "__Host-sid" }) }),
    ).toThrow(SessionConfigError);
    expect(() =>
      defineSession({
        schema,
        store: cookieStore({ secrets: "x".repeat(32) }),
        legacy: expressSessionCookie({ secrets: SECRET }),
      }),
    ).toThrow(SessionConfigError);
    expect(() => defineSession({ schema, store: memoryStore(), legacy: { name: "x" } as never })).toThrow(SessionConfigError);
  });
});

describe("importLegacy: the one way imported data gets in", () => {
  it("validates with the schema and maxBytes, never overwrites, and writes nothing on a dry run", async () => {
    const { sessions, map, importOne, inAnHour } = setup({ maxBytes: 200 });
    await expect(importOne("bad", { userId: 42 })).rejects.toBeInstanceOf(SessionValidationError);
    await expect(importOne("unknown", { passport: { user: 1 } })).rejects.toBeInstanceOf(SessionValidationError);
    await expect(importOne("reserved", { $expiry: 1 })).rejects.toBeInstanceOf(SessionValidationError);
    await expect(importOne("big", { note: "x".repeat(300) })).rejects.toBeInstanceOf(SessionTooLargeError);
    expect(map.size).toBe(0);
    expect(await sessions.importLegacy({ sid: "dry", data: { userId: "u" }, expiresAt: inAnHour }, { dryRun: true })).toBe(
      "created",
    );
    expect(map.size).toBe(0);
    expect(await importOne("s1")).toBe("created");
    expect(await importOne("s1", { userId: "someone else" })).toBe("exists");
    expect((await sessions.load(legacyCookie("s1"))).get("userId")).toBe("u_s1");
    expect(await importOne("empty", { userId: undefined })).toBe("empty");
    expect(await sessions.importLegacy({ sid: "old", data: { userId: "u" }, expiresAt: new Date(Date.now() - 1) })).toBe(
      "expired",
    );
    await expect(sessions.importLegacy({ sid: "", data: {}, expiresAt: inAnHour })).rejects.toBeInstanceOf(SessionUsageError);
    await expect(sessions.importLegacy({ sid: "x", data: [] as never, expiresAt: inAnHour })).rejects.toBeInstanceOf(
      SessionUsageError,
    );
  });

  it("keeps the legacy expiry, capped by absoluteMaxAge; null means maxAge from now", async () => {
    const { sessions, map } = setup({ absoluteMaxAge: 600 });
    const inADay = new Date(Date.now() + 86_400_000);
    await sessions.importLegacy({ sid: "capped", data: { userId: "u" }, expiresAt: inADay });
    await sessions.importLegacy({ sid: "soon", data: { userId: "u" }, expiresAt: new Date(Date.now() + 60_000) });
    const expiries = [...map.values()]
      .filter((record) => record.successorId === null)
      .map((record) => record.expiresAt.getTime() - Date.now());
    expect(Math.max(...expiries)).toBeLessThanOrEqual(600_000);
    expect(Math.min(...expiries)).toBeLessThanOrEqual(60_000);
    const plain = setup();
    await plain.sessions.importLegacy({ sid: "forever", data: { userId: "u" }, expiresAt: null });
    const [record] = [...plain.map.values()].filter((record) => record.successorId === null);
    expect(Math.abs(record.expiresAt.getTime() - (Date.now() + 14 * 86_400_000))).toBeLessThan(5_000);
  });

  it("needs the legacy option", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    await expect(sessions.importLegacy({ sid: "x", data: { userId: "u" }, expiresAt: null })).rejects.toBeInstanceOf(
      SessionUsageError,
    );
  });
});

describe("the legacy cookie, accepted once", () => {
  it("an imported id is not a token's id: a sid sent as a Tessera cookie, or a token signed as a sid, reaches nothing", async () => {
    const { sessions, importOne } = setup();
    // A real Tessera session, and its token.
    const own = await sessions.load(null);
    own.set("userId", "tessera-user");
    const token = pairOf(tesseraCookie(await own.commit())).split("=")[1] as string;
    // The token used as a legacy sid, correctly signed: a legacy lookup, under another id.
    expect((await sessions.load(legacyCookie(token))).has("userId")).toBe(false);
    // A legacy session whose sid is shaped like a token, sent as the Tessera cookie: not found.
    const sid = "A".repeat(43);
    await importOne(sid);
    expect((await sessions.load(`__Host-sid=${sid}`)).has("userId")).toBe(false);
    // Its own signed cookie does reach it.
    expect((await sessions.load(legacyCookie(sid))).get("userId")).toBe(`u_${sid}`);
  });

  it("commit rotates it to a Tessera token, clears the legacy cookie, and leaves nothing a replay or a re-import reaches", async () => {
    const { sessions, importOne, events } = setup();
    await importOne("s1", { userId: "alice", cart: ["a"] });
    const session = await sessions.load(legacyCookie("s1"));
    expect(session.isNew).toBe(false);
    expect(session.get("cart")).toEqual(["a"]);
    const headers = await session.commit();
    expect(tesseraCookie(headers)).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43};/);
    expect(headers.some((value) => /^connect\.sid=;.*Max-Age=0/.test(value))).toBe(true);
    expect(events.map((event) => event.type)).toContain("rotated");
    const next = await sessions.load(pairOf(tesseraCookie(headers)));
    expect(next.get("userId")).toBe("alice");
    expect((await sessions.load(legacyCookie("s1"))).has("userId")).toBe(false);
    expect(await importOne("s1", { userId: "alice" })).toBe("exists");
    expect((await sessions.load(legacyCookie("s1"))).has("userId")).toBe(false);
  });

  it("a Tessera cookie wins: the legacy one is then not even looked at", async () => {
    const { sessions, importOne } = setup();
    await importOne("s1", { userId: "legacy" });
    const own = await sessions.load(null);
    own.set("userId", "current");
    const pair = pairOf(tesseraCookie(await own.commit()));
    const both = await sessions.load(`${pair}; ${legacyCookie("s1")}`);
    expect(both.get("userId")).toBe("current");
    expect(await both.commit()).toEqual([]);
    // Still unused: the legacy cookie alone reaches it.
    expect((await sessions.load(legacyCookie("s1"))).get("userId")).toBe("legacy");
  });

  it("a bad legacy cookie is a fresh session; its first Tessera cookie clears the legacy one", async () => {
    const { sessions, events } = setup();
    const session = await sessions.load(legacyCookie("nobody", "a forged secret"));
    expect(session.isNew).toBe(true);
    expect(events.map((event) => event.type)).toContain("tampered");
    expect(await session.commit()).toEqual([]);
    const again = await sessions.load(legacyCookie("nobody", "a forged secret"));
    again.set("userId", "fresh");
    const headers = await again.commit();
    expect(tesseraCookie(headers)).toBeDefined();
    expect(headers.some((value) => value.startsWith("connect.sid=;"))).toBe(true);
  });

  it("two requests race: the first commit wins; the other sends nothing, or fails if it wrote", async () => {
    const { sessions, importOne } = setup();
    await importOne("s1", { userId: "alice" });
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => sessions.load(legacyCookie("s1"))));
    for (const session of [a, b, c]) expect(session?.get("userId")).toBe("alice");
    expect(tesseraCookie((await a?.commit()) ?? [])).toBeDefined();
    expect(await b?.commit()).toEqual([]);
    c?.set("note", "written by the loser");
    await expect(c?.commit()).rejects.toBeInstanceOf(SessionInterruptedError);
  });

  it("rotationGrace does not reach through a used legacy cookie", async () => {
    const { sessions, importOne } = setup({ rotationGrace: 60 });
    await importOne("s1", { userId: "alice" });
    await (await sessions.load(legacyCookie("s1"))).commit();
    expect((await sessions.load(legacyCookie("s1"))).has("userId")).toBe(false);
  });

  it("login() and destroy() on a legacy session: a new token, and nothing left a re-import revives", async () => {
    const { sessions, importOne } = setup();
    await importOne("s1", { userId: "alice" });
    const session = await sessions.load(legacyCookie("s1"));
    await session.login("userId", "alice");
    const headers = await session.commit();
    expect((await sessions.load(pairOf(tesseraCookie(headers)))).get("userId")).toBe("alice");
    await importOne("s2", { userId: "bob" });
    const bob = await sessions.load(legacyCookie("s2"));
    await bob.destroy();
    // A logout clears both cookies.
    const cleared = await bob.commit();
    expect(cleared.map((value) => value.split("=")[0]).sort()).toEqual(["__Host-sid", "connect.sid"]);
    expect(await importOne("s2", { userId: "bob" })).toBe("exists");
    expect((await sessions.load(legacyCookie("s2"))).has("userId")).toBe(false);
    expect(await sessions.findMany({ where: { userId: "bob" } })).toEqual([]);
  });
});

describe("every adapter goes through the core's load", () => {
  it("fetch", async () => {
    const { sessions, importOne } = setup();
    await importOne("f1", { userId: "alice" });
    const handler = withSession(sessions, (_request, session) => Response.json({ userId: session.get("userId") ?? null }));
    const first = await handler(new Request("http://x/", { headers: { cookie: legacyCookie("f1") } }));
    expect(await first.json()).toEqual({ userId: "alice" });
    expect(tesseraCookie(first.headers.getSetCookie())).toBeDefined();
    const replay = await handler(new Request("http://x/", { headers: { cookie: legacyCookie("f1") } }));
    expect(await replay.json()).toEqual({ userId: null });
  });

  it("hono", async () => {
    const { sessions, importOne } = setup();
    await importOne("h1", { userId: "alice" });
    const app = new Hono().use(honoSession(sessions)).get("/", (c) => c.json({ userId: c.get("session").get("userId") ?? null }));
    const first = await app.request("/", { headers: { cookie: legacyCookie("h1") } });
    expect(await first.json()).toEqual({ userId: "alice" });
    expect(first.headers.getSetCookie().some((value) => value.startsWith("connect.sid=;"))).toBe(true);
    expect(await (await app.request("/", { headers: { cookie: legacyCookie("h1") } })).json()).toEqual({ userId: null });
  });

  it("next: getSession reads it; saveSession rotates it where cookies can be set, and a Server Component leaves it unused", async () => {
    const { sessions, importOne } = setup();
    await importOne("n1", { userId: "alice" });
    const jar = (writable: boolean): NextCookies & { set: NextCookies["set"]; written: Map<string, string> } => {
      const written = new Map<string, string>();
      return {
        written,
        get: (name) => (name === "connect.sid" ? { value: legacyCookie("n1").split("=")[1] as string } : undefined),
        set: (name, value) => {
          if (!writable) throw new Error("Cookies can only be modified in a Server Action or Route Handler");
          written.set(name, value);
        },
      };
    };
    // A Server Component: read-only; nothing is rotated, the legacy cookie still works afterwards.
    const component = await getSession(sessions, { cookies: () => jar(false) });
    expect(component.get("userId")).toBe("alice");
    // A Route Handler or Server Action: the save rotates and sets both cookies.
    const cookies = jar(true);
    const action = await getSession(sessions, { cookies: () => cookies });
    expect(action.get("userId")).toBe("alice");
    expect(await saveSession(action)).toBe(true);
    expect(cookies.written.get("__Host-sid")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies.written.get("connect.sid")).toBe("");
    expect((await getSession(sessions, { cookies: () => jar(false) })).has("userId")).toBe(false);
  });

  it("next's proxy (sessionMiddleware) rotates it and the page's own render sees the Tessera cookie", async () => {
    const { sessions, importOne } = setup();
    await importOne("p1", { userId: "alice" });
    const proxy = sessionMiddleware(sessions);
    const response = await proxy(new NextRequest("http://localhost/page", { headers: { cookie: legacyCookie("p1") } }));
    const token = response.cookies.get("__Host-sid")?.value;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(response.cookies.get("connect.sid")?.value).toBe("");
    // What Next hands the render of the same request: the cookies the proxy set.
    expect(response.headers.get("x-middleware-set-cookie")).toContain("__Host-sid=");
    expect((await sessions.load(`__Host-sid=${token}`)).get("userId")).toBe("alice");
    const replay = await proxy(new NextRequest("http://localhost/page", { headers: { cookie: legacyCookie("p1") } }));
    expect(replay.cookies.get("__Host-sid")).toBeUndefined();
  });
});
