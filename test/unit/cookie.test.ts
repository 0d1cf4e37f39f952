import { parseSetCookie } from "cookie";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  clearingCookie,
  type ResolvedCookie,
  readCookie,
  resolveCookie,
  type SessionCookie,
  sessionCookie,
} from "../../src/cookie.js";
import { defineSession, SessionConfigError } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { attribute } from "../helpers/cookies.js";

const now = new Date(Date.UTC(2026, 0, 1));
const schema = z.object({ userId: z.string().optional() });

describe("session cookie", () => {
  it("R12/R13: defaults to HttpOnly, Secure, SameSite=Lax, Path=/ and no Domain", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const session = await sessions.load(undefined);
    session.set("userId", "u1");
    const [setCookie] = await session.commit();
    expect(setCookie).toMatch(/^__Host-sid=[A-Za-z0-9_-]{43};/);
    expect(attribute(setCookie as string, "HttpOnly")).toBe("");
    expect(attribute(setCookie as string, "Secure")).toBe("");
    expect(attribute(setCookie as string, "SameSite")).toBe("Lax");
    expect(attribute(setCookie as string, "Path")).toBe("/");
    expect(attribute(setCookie as string, "Domain")).toBeUndefined();
    expect(attribute(setCookie as string, "Max-Age")).toBe("1209600");
  });

  it.each([
    ["SameSite=None without Secure", { sameSite: "none", secure: false }],
    ["__Host- without Secure", { name: "__Host-sid", secure: false }],
    ["__Host- with a Path", { name: "__Host-sid", path: "/app" }],
    ["__Host- with a Domain", { name: "__Host-sid", domain: "example.com" }],
    ["__Secure- without Secure", { name: "__Secure-sid", secure: false }],
    ["a name with ;", { name: "sid;x" }],
    ["a name with =", { name: "s=d" }],
    ["a name with CR LF", { name: "sid\r\nSet-Cookie: x" }],
    ["a path with ;", { path: "/;Domain=evil" }],
    ["a domain with a space", { domain: "a b" }],
    ["an unknown SameSite", { sameSite: "sometimes" }],
  ])("R13/R14/R15: %s is a SessionConfigError at defineSession", (_, cookie) => {
    const error = (() => {
      try {
        defineSession({ schema, store: memoryStore(), cookie: cookie as never });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SessionConfigError);
    expect((error as SessionConfigError).code).toBe("CONFIG");
  });

  it("R14: a valid __Host- cookie is Secure with Path=/ and no Domain", () => {
    const cookie = sessionCookie(resolveCookie({ name: "__Host-sid" }), "t", 60, now).header;
    expect(cookie).toMatch(/^__Host-sid=t;/);
    expect(attribute(cookie, "Secure")).toBe("");
    expect(attribute(cookie, "Path")).toBe("/");
  });

  it("R16: Max-Age is capped at 400 days and never rounds up past the server's expiry", () => {
    const cookie = resolveCookie();
    expect(attribute(sessionCookie(cookie, "t", 1000 * 86400, now).header, "Max-Age")).toBe(String(400 * 86400));
    expect(attribute(sessionCookie(cookie, "t", 59.9, now).header, "Max-Age")).toBe("59");
    expect(sessionCookie(cookie, "t", null, now).header).not.toMatch(/Max-Age|Expires/);
  });

  it("R17: the clearing cookie keeps name, path and domain with Max-Age=0 and the epoch", () => {
    const clear = clearingCookie(resolveCookie({ name: "app", path: "/a", domain: "example.com" })).header;
    expect(clear).toMatch(/^app=;/);
    expect(attribute(clear, "Max-Age")).toBe("0");
    expect(attribute(clear, "Expires")).toBe("Thu, 01 Jan 1970 00:00:00 GMT");
    expect(attribute(clear, "Domain")).toBe("example.com");
  });

  describe("issue 13.2: the structured cookie is its header, in parts", () => {
    const token = "A".repeat(43);
    /** `{ name, value, ...attributes }`; a false flag (`secure: false`) is an absent attribute in a header. */
    const parts = (cookie: SessionCookie) => ({
      name: cookie.name,
      value: cookie.value,
      ...Object.fromEntries(Object.entries(cookie.attributes).filter(([, value]) => value !== false)),
    });
    const cases: [string, ResolvedCookie, number | null][] = [
      ["the defaults (__Host-sid)", resolveCookie(), 3600],
      ["a Domain", resolveCookie({ domain: "example.com" }), 3600],
      ["Partitioned", resolveCookie({ partitioned: true }), 3600],
      ["SameSite=None", resolveCookie({ sameSite: "none" }), 3600],
      [
        "SameSite=Strict, a Path, no Secure, no HttpOnly",
        resolveCookie({ sameSite: "strict", path: "/app", secure: false, httpOnly: false }),
        3600,
      ],
      ["a browser-session cookie (no Max-Age, no Expires)", resolveCookie({ domain: "example.com" }), null],
      ["a lifetime past 400 days (capped)", resolveCookie(), 1000 * 86400],
    ];
    it.each(cases)("%s: parseSetCookie(header) equals { name, value, ...attributes }", (_, resolved, maxAge) => {
      const cookie = sessionCookie(resolved, token, maxAge, now);
      expect(parseSetCookie(cookie.header, { decode: (v) => v })).toEqual(parts(cookie));
      expect(cookie.name).toBe(resolved.name);
      expect(cookie.value).toBe(token);
      if (maxAge === null) expect(cookie.attributes).not.toHaveProperty("maxAge");
      else expect(cookie.attributes.expires).toEqual(new Date(now.getTime() + (cookie.attributes.maxAge as number) * 1000));
    });

    it('the clearing cookie: value "", Max-Age=0 and the epoch, in parts and in its header', () => {
      const cookie = clearingCookie(resolveCookie({ name: "app", path: "/a", domain: "example.com", partitioned: true }));
      expect(cookie).toMatchObject({
        name: "app",
        value: "",
        attributes: { path: "/a", domain: "example.com", maxAge: 0, expires: new Date(0) },
      });
      expect(parseSetCookie(cookie.header, { decode: (v) => v })).toEqual(parts(cookie));
    });
  });

  it("B15: the default name is __Host-sid when secure, Path=/ and no Domain allow it, else sid; an explicit name wins", () => {
    expect(resolveCookie().name).toBe("__Host-sid");
    expect(resolveCookie({ secure: true, path: "/", partitioned: true }).name).toBe("__Host-sid");
    expect(resolveCookie({ secure: false }).name).toBe("sid");
    expect(resolveCookie({ domain: "example.com" }).name).toBe("sid");
    expect(resolveCookie({ path: "/app" }).name).toBe("sid");
    expect(resolveCookie({ name: "app" }).name).toBe("app");
    expect(defineSession({ schema, store: memoryStore() }).cookieName).toBe("__Host-sid");
    expect(defineSession({ schema, store: memoryStore(), cookie: { secure: false } }).cookieName).toBe("sid");
  });

  it("B15: a sid cookie tossed by a sibling sub-domain (listed first) does not shadow the default __Host-sid session", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const login = async (userId: string) => {
      const session = await sessions.load(undefined);
      session.set("userId", userId);
      return ((await session.commit())[0] as string).split(";")[0]!.split("=")[1]!;
    };
    const victim = await login("victim");
    const attacker = await login("attacker"); // the attacker's own valid session, planted as Domain=.example.com
    const loaded = await sessions.load(`sid=${attacker}; __Host-sid=${victim}`);
    expect(loaded.get("userId")).toBe("victim");
    expect((await sessions.load(`sid=${attacker}`)).isNew).toBe(true);
  });

  it("B15: with duplicates of the session cookie, the first in the header wins (RFC 6265 §5.4 order), even when it does not open", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const session = await sessions.load(undefined);
    session.set("userId", "u1");
    const token = ((await session.commit())[0] as string).split(";")[0]!.split("=")[1]!;
    expect(readCookie(`__Host-sid=${token}; __Host-sid=other`, "__Host-sid")).toBe(token);
    expect((await sessions.load(`__Host-sid=${token}; __Host-sid=garbage`)).get("userId")).toBe("u1");
    expect((await sessions.load(`__Host-sid=garbage; __Host-sid=${token}`)).isNew).toBe(true);
    expect((await sessions.load(new Headers({ cookie: `a=1; __Host-sid=${token}; __Host-sid=x` }))).get("userId")).toBe("u1");
  });

  it("hostile Cookie headers (10 KB, 10 MB, NUL, lone surrogates, only separators) give a fresh session, never a throw", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const name = sessions.cookieName;
    const headers = [
      `${name}=${"A".repeat(10 * 1024)}`,
      `${"x=1; ".repeat(2 * 1024 * 1024)}${name}=${"A".repeat(43)}`,
      `${name}=${"A".repeat(10 * 1024 * 1024)}`,
      `${name}=\u0000${"A".repeat(42)}`,
      `${name}=${"A".repeat(42)}\uD800`,
      `${name}=\uDC00`,
      `\uD800=${"A".repeat(43)}; ${name}=\uD800\uDC00`,
      ";;;;====;;;;",
      `${name}`,
      `${name}==`,
    ];
    for (const header of headers) {
      const session = await sessions.load(header);
      expect(session.isNew).toBe(true);
      expect(await session.commit()).toEqual([]);
    }
  });

  it("R10: the token is read from the Cookie header only; a %-encoded value is not decoded into a token", () => {
    expect(readCookie("a=1; sid=abc; b=2", "sid")).toBe("abc");
    expect(readCookie("sid=%41%42", "sid")).toBe("%41%42");
    expect(readCookie("other=1", "sid")).toBeUndefined();
  });
});
