import { describe, expect, it } from "vitest";
import * as z from "zod";
import { readCookie, resolveCookie, serializeClearCookie, serializeSessionCookie } from "../../src/cookie.js";
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
    expect(setCookie).toMatch(/^sid=[A-Za-z0-9_-]{43};/);
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
    const cookie = serializeSessionCookie(resolveCookie({ name: "__Host-sid" }), "t", 60, now);
    expect(cookie).toMatch(/^__Host-sid=t;/);
    expect(attribute(cookie, "Secure")).toBe("");
    expect(attribute(cookie, "Path")).toBe("/");
  });

  it("R16: Max-Age is capped at 400 days and never rounds up past the server's expiry", () => {
    const cookie = resolveCookie();
    expect(attribute(serializeSessionCookie(cookie, "t", 1000 * 86400, now), "Max-Age")).toBe(String(400 * 86400));
    expect(attribute(serializeSessionCookie(cookie, "t", 59.9, now), "Max-Age")).toBe("59");
    expect(serializeSessionCookie(cookie, "t", null, now)).not.toMatch(/Max-Age|Expires/);
  });

  it("R17: the clearing cookie keeps name, path and domain with Max-Age=0 and the epoch", () => {
    const clear = serializeClearCookie(resolveCookie({ name: "app", path: "/a", domain: "example.com" }));
    expect(clear).toMatch(/^app=;/);
    expect(attribute(clear, "Max-Age")).toBe("0");
    expect(attribute(clear, "Expires")).toBe("Thu, 01 Jan 1970 00:00:00 GMT");
    expect(attribute(clear, "Domain")).toBe("example.com");
  });

  it("R10: the token is read from the Cookie header only; a %-encoded value is not decoded into a token", () => {
    expect(readCookie("a=1; sid=abc; b=2", "sid")).toBe("abc");
    expect(readCookie("sid=%41%42", "sid")).toBe("%41%42");
    expect(readCookie("other=1", "sid")).toBeUndefined();
  });
});
