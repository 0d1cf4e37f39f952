import type { Server } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { parseSetCookie } from "cookie";
import { NextRequest, NextResponse } from "next/server.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  type CookieAttributes,
  getSession,
  type NextCookies,
  saveSession,
  sessionMiddleware,
  withSessionErrors,
} from "../../src/adapters/next.js";
import { defineSession, SessionConfigError, type SessionOptions } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { hashToken } from "../../src/token.js";
import { testClock } from "../helpers/clock.js";
import {
  type ContractSessions,
  devErrorPage,
  httpRequest,
  type ServeScenario,
  sessionErrorContract,
} from "./adapter-contract.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
});

/**
 * Stands in for Next's `await cookies()` (the framework, not a database): reads what the request
 * sent; `set` records what the response would send. `readOnly` throws as Next does in a Server
 * Component render.
 */
class TestCookies implements NextCookies {
  readonly written = new Map<string, { value: string; attributes: CookieAttributes }>();
  readonly #sent: Map<string, string>;
  readonly #readOnly: boolean;

  constructor(sent: Record<string, string> = {}, options: { readOnly?: boolean } = {}) {
    this.#sent = new Map(Object.entries(sent));
    this.#readOnly = options.readOnly ?? false;
  }

  get(name: string) {
    const value = this.written.get(name)?.value ?? this.#sent.get(name);
    return value === undefined ? undefined : { name, value };
  }

  set(name: string, value: string, attributes: CookieAttributes) {
    if (this.#readOnly) throw new Error("Cookies can only be modified in a Server Action or Route Handler.");
    this.written.set(name, { value, attributes });
    return this;
  }

  delete(name: string) {
    return this.set(name, "", { maxAge: 0 });
  }
}

function setup(options: Partial<SessionOptions<typeof schema>> = {}) {
  const clock = testClock();
  const sessions = defineSession({ schema, store: memoryStore(), now: clock.now, ...options });
  /** A Route Handler or Server Action request carrying `cookie`, or a Server Component render with `readOnly`. */
  const request = async (cookie?: string, readOnly = false) => {
    const jar = new TestCookies(cookie === undefined ? {} : { [sessions.cookieName]: cookie }, { readOnly });
    return { jar, session: await getSession(sessions, { cookies: () => jar }) };
  };
  /** A stored session with a cart; returns its cookie value. */
  const login = async () => {
    const { jar, session } = await request();
    session.set("cart", [{ sku: "apple", qty: 1 }]);
    await saveSession(session);
    return jar.written.get(sessions.cookieName)?.value as string;
  };
  return { clock, sessions, request, login };
}

describe("tessera/next: getSession and saveSession", () => {
  it("saveSession writes a new session's cookie through cookies().set, and getSession reads it back", async () => {
    const { request, sessions } = setup();
    const { jar, session } = await request();
    expect(session.isNew).toBe(true);
    session.set("theme", "dark");
    expect(await saveSession(session)).toBe(true);
    const written = jar.written.get(sessions.cookieName);
    expect(written?.value).toMatch(/^[\w-]{43}$/);
    const next = await request(written?.value);
    expect(next.session.isNew).toBe(false);
    expect(next.session.get("theme")).toBe("dark");
  });

  it("a request that changes nothing writes no cookie; a data change to a stored session needs none", async () => {
    const { request, login } = setup();
    const cookie = await login();
    const read = await request(cookie);
    expect(read.session.get("cart")).toHaveLength(1);
    expect(await saveSession(read.session)).toBe(false);
    const write = await request(cookie);
    write.session.set("theme", "dark");
    expect(await saveSession(write.session)).toBe(false);
    expect(write.jar.written.size).toBe(0);
    expect((await request(cookie)).session.get("theme")).toBe("dark");
  });

  it("the attributes given to cookies().set are those of commit()'s Set-Cookie, and Next serializes them alike (R12–R17)", async () => {
    const cookie = { name: "app_sid", path: "/shop", domain: "example.com", sameSite: "strict", partitioned: true } as const;
    const { request } = setup({ cookie, maxAge: "2h" });
    const { jar, session } = await request();
    session.set("userId", "u1");
    await saveSession(session);
    // The clock is frozen, so a second commit() returns the very Set-Cookie the first one did.
    const [setCookie] = await session.commit();
    const expected = parseSetCookie(setCookie as string);
    const { value = "", attributes = {} } = jar.written.get("app_sid") ?? {};
    expect({ name: "app_sid", value, ...attributes }).toEqual(expected);
    expect(expected).toMatchObject({ httpOnly: true, secure: true, sameSite: "strict", path: "/shop", domain: "example.com" });
    expect(expected.maxAge).toBe(7200);

    // Next's serializer gives the same header, but for Expires, which it recomputes from Max-Age on its own clock.
    const response = NextResponse.next();
    response.cookies.set("app_sid", value, attributes);
    const { expires, ...serialized } = parseSetCookie(response.headers.getSetCookie()[0] ?? "");
    const { expires: _, ...rest } = expected;
    expect(serialized).toEqual(rest);
    expect(Math.abs((expires?.getTime() ?? 0) - (Date.now() + 7200_000))).toBeLessThan(5000);

    await session.destroy();
    await saveSession(session);
    const cleared = jar.written.get("app_sid");
    expect(cleared?.value).toBe("");
    expect(cleared?.attributes).toMatchObject({ maxAge: 0, expires: new Date(0), path: "/shop", domain: "example.com" });
  });

  it("rotate() in a Server Action sends the new token; the old one then reads a fresh session", async () => {
    const { request, login, sessions } = setup();
    const cookie = await login();
    const { jar, session } = await request(cookie);
    await session.rotate();
    session.set("userId", "u1");
    await saveSession(session);
    const rotated = jar.written.get(sessions.cookieName)?.value;
    expect(rotated).not.toBe(cookie);
    expect((await request(rotated)).session.get("userId")).toBe("u1");
    expect((await request(cookie)).session.isNew).toBe(true);
  });

  it("a bad cookie is a fresh session", async () => {
    const { request } = setup();
    for (const cookie of ["garbage", "A".repeat(43), ""]) {
      const { session } = await request(cookie);
      expect(session.isNew).toBe(true);
      expect(session.get("cart")).toEqual([]);
    }
  });
});

describe("tessera/next in a Server Component (cookies cannot be set)", () => {
  it("R20: a save that needs a new cookie throws SessionConfigError (CONFIG), with Next's error as cause", async () => {
    const { request, login } = setup();
    const created = await request(undefined, true);
    created.session.set("theme", "dark");
    const error = await saveSession(created.session).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionConfigError);
    expect((error as SessionConfigError).code).toBe("CONFIG");
    expect((error as SessionConfigError).cause).toBeInstanceOf(Error);

    const cookie = await login();
    const destroyed = await request(cookie, true);
    await destroyed.session.destroy();
    await expect(saveSession(destroyed.session)).rejects.toBeInstanceOf(SessionConfigError);
  });

  it("reads work, data changes to a stored session need no cookie, and a due refresh is left to the middleware", async () => {
    const store = memoryStore();
    const { request, login, clock } = setup({ store, maxAge: "1h", rolling: true, touchAfter: "5m" });
    const cookie = await login();
    const render = await request(cookie, true);
    expect(render.session.get("cart")).toEqual([{ sku: "apple", qty: 1 }]);
    render.session.set("theme", "dark");
    expect(await saveSession(render.session)).toBe(false);
    expect((await request(cookie)).session.get("theme")).toBe("dark");

    clock.advance(600);
    const later = await request(cookie, true);
    expect(await saveSession(later.session)).toBe(false);
    const stored = await store.get(hashToken(cookie), new Date(clock.now()));
    expect(stored?.expiresAt.getTime()).toBe(clock.now() + 3600_000);
  });
});

describe("tessera/next sessionMiddleware (proxy)", () => {
  const url = "https://shop.example/cart";

  it("re-sets a cookie whose rolling expiry is due, with no-store and Vary: Cookie; leaves others alone", async () => {
    const store = memoryStore();
    const { login, sessions, clock } = setup({ store, maxAge: "1h", rolling: true, touchAfter: "5m" });
    const cookie = await login();
    const proxy = sessionMiddleware(sessions);

    const fresh = await proxy(new NextRequest(url, { headers: { cookie: `${sessions.cookieName}=${cookie}` } }));
    expect(fresh.headers.getSetCookie()).toEqual([]);
    expect(fresh.headers.get("cache-control")).toBeNull();
    expect(fresh.headers.get("vary")).toMatch(/\bCookie\b/);

    clock.advance(600);
    const due = await proxy(new NextRequest(url, { headers: { cookie: `${sessions.cookieName}=${cookie}` } }));
    const [setCookie] = due.headers.getSetCookie();
    expect(parseSetCookie(setCookie as string)).toMatchObject({
      name: sessions.cookieName,
      value: cookie,
      maxAge: 3600,
      httpOnly: true,
      secure: true,
    });
    expect(due.headers.get("cache-control")).toBe("no-store");
    expect(due.headers.get("vary")).toMatch(/\bCookie\b/);
    expect(due.headers.get("x-middleware-next")).toBe("1");
    const stored = await store.get(hashToken(cookie), new Date(clock.now()));
    expect(stored?.expiresAt.getTime()).toBe(clock.now() + 3600_000);
  });

  it("B15: the proxy reads the first of duplicate cookies, as sent (not Next's jar, which keeps the last)", async () => {
    const store = memoryStore();
    const { login, sessions, clock } = setup({ store, maxAge: "1h", rolling: true, touchAfter: "5m" });
    const cookie = await login();
    const proxy = sessionMiddleware(sessions, {
      response: (_, session) => NextResponse.json({ isNew: session.isNew }),
    });
    clock.advance(600);
    const name = sessions.cookieName;
    const first = await proxy(new NextRequest(url, { headers: { cookie: `${name}=${cookie}; ${name}=${"A".repeat(43)}` } }));
    expect(await first.json()).toEqual({ isNew: false });
    const last = await proxy(new NextRequest(url, { headers: { cookie: `${name}=${"A".repeat(43)}; ${name}=${cookie}` } }));
    expect(await last.json()).toEqual({ isNew: true });
  });

  it("without a cookie it stores nothing and sets nothing", async () => {
    const { sessions } = setup();
    const response = await sessionMiddleware(sessions)(new NextRequest(url));
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  it("hands the session to your own proxy logic and adds the cookie to its response", async () => {
    const { sessions, login, clock } = setup({ maxAge: "1h", rolling: true, touchAfter: "5m" });
    const cookie = await login();
    clock.advance(600);
    const proxy = sessionMiddleware(sessions, {
      response: (request, session) =>
        session.get("userId") === undefined ? NextResponse.redirect(new URL("/login", request.url)) : NextResponse.next(),
    });
    const response = await proxy(new NextRequest(url, { headers: { cookie: `${sessions.cookieName}=${cookie}` } }));
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toBe("https://shop.example/login");
    expect(parseSetCookie(response.headers.getSetCookie()[0] as string).value).toBe(cookie);
  });

  it("validates its options at creation", async () => {
    const { sessions } = setup();
    expect(() => sessionMiddleware({} as never)).toThrow(SessionConfigError);
    expect(() => sessionMiddleware(sessions, { response: "next" as never })).toThrow(SessionConfigError);
    await expect(getSession(sessions, { cookies: "jar" as never })).rejects.toBeInstanceOf(SessionConfigError);
  });

  it("by default getSession reads next/headers' cookies(), which Next refuses outside a request", async () => {
    const { sessions } = setup();
    await expect(getSession(sessions)).rejects.toBeInstanceOf(Error);
  });
});

/**
 * A Route Handler as Next runs it: `cookies()` reads the request's cookies and what is set on it
 * goes out on the handler's response. This is the handler of the error scenario, written as the
 * docs say (getSession, change, saveSession, `Cache-Control: no-store` when a cookie was written).
 */
function scenarioRoute(sessions: ContractSessions, pause: () => Promise<void>) {
  return async (request: NextRequest): Promise<Response> => {
    const outgoing = NextResponse.next(); // only its cookie store is used, as Next's mutable cookies()
    const jar: NextCookies = {
      get: (name) => outgoing.cookies.get(name) ?? request.cookies.get(name),
      set: (name, value, attributes) => outgoing.cookies.set(name, value, attributes),
    };
    const session = await getSession(sessions, { cookies: () => jar });
    if (request.nextUrl.pathname === "/login") session.set("userId", "u1");
    if (request.nextUrl.pathname === "/pause") {
      session.set("cart", [{ sku: "p", qty: 1 }]);
      await pause();
    }
    if (request.nextUrl.pathname === "/pause-rotate") {
      await pause();
      await session.rotate();
    }
    const written = await saveSession(session);
    const response = Response.json({ userId: session.get("userId") ?? null });
    for (const setCookie of outgoing.headers.getSetCookie()) response.headers.append("Set-Cookie", setCookie);
    if (written) response.headers.set("Cache-Control", "no-store");
    return response;
  };
}

/**
 * The error scenario through Next's request pipeline: the proxy (`sessionMiddleware`) first; when
 * it passes the request on, the Route Handler, whose response gets the proxy's headers as Next
 * merges them. An error that escapes is a development error page (with the stack).
 */
const serveScenario: ServeScenario = async (sessions, pause) => {
  const proxy = sessionMiddleware(sessions);
  const route = withSessionErrors(scenarioRoute(sessions, pause)); // as docs/adapters.md recommends
  const handle = async (incoming: Request): Promise<Response> => {
    const request = new NextRequest(incoming.url, { method: incoming.method, headers: incoming.headers });
    const proxied = await proxy(request);
    if (proxied.headers.get("x-middleware-next") !== "1") return proxied;
    const response = await route(request);
    for (const [name, value] of proxied.headers) {
      if (name.startsWith("x-middleware-") || name === "set-cookie") continue;
      if (name === "vary") {
        if (!/\bcookie\b/i.test(response.headers.get("vary") ?? "")) response.headers.append("Vary", value);
      } else response.headers.set(name, value);
    }
    for (const setCookie of proxied.headers.getSetCookie()) response.headers.append("Set-Cookie", setCookie);
    return response;
  };
  const server: Server = createServer(getRequestListener((request) => handle(request).catch(devErrorPage)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    request: httpRequest(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()),
  };
};

describe("tessera/next (proxy, then getSession/saveSession in a Route Handler): the shared session-error scenario", () =>
  sessionErrorContract(serveScenario));
