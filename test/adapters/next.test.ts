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
  sessionRoute,
} from "../../src/adapters/next.js";
import {
  defineSession,
  type Session,
  SessionConfigError,
  type SessionOptions,
  SessionStoreError,
  SessionUsageError,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { hashToken } from "../../src/token.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";
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

describe("tesserae/next: getSession and saveSession", () => {
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

describe("tesserae/next in a Server Component (cookies cannot be set)", () => {
  it("R20: a save that needs a new cookie throws SessionUsageError (SESSION_USAGE), with Next's error as cause", async () => {
    const { request, login } = setup();
    const created = await request(undefined, true);
    created.session.set("theme", "dark");
    const error = await saveSession(created.session).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionUsageError);
    expect((error as SessionUsageError).code).toBe("SESSION_USAGE");
    expect((error as SessionUsageError).cause).toBeInstanceOf(Error);

    const cookie = await login();
    const destroyed = await request(cookie, true);
    await destroyed.session.destroy();
    await expect(saveSession(destroyed.session)).rejects.toBeInstanceOf(SessionUsageError);
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

describe("tesserae/next in a Server Component with cookieCache", () => {
  it("a render reads and writes data of a stored session: the snapshot it cannot set is dropped, not an error", async () => {
    const { request, login, sessions } = setup({
      cookieCache: { maxAge: "30s", secrets: "a-cookie-cache-secret-of-32-characters!!" },
    });
    const cookie = await login();
    // Only the session cookie: the load reads the store, and its commit would send a snapshot.
    const render = await request(cookie, true);
    expect(render.session.get("cart")).toEqual([{ sku: "apple", qty: 1 }]);
    render.session.set("theme", "dark");
    expect(await saveSession(render.session)).toBe(false);
    expect(render.jar.written.size).toBe(0);
    const action = await request(cookie);
    expect(action.session.get("theme")).toBe("dark");
    expect(await saveSession(action.session)).toBe(true);
    expect([...action.jar.written.keys()]).toEqual([`${sessions.cookieName}.cache`]);
  });
});

describe("tesserae/next sessionMiddleware (proxy)", () => {
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
    expect(due.headers.get("cache-control")).toBe("private, no-store");
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

describe("tesserae/next sessionMiddleware: responses of your own logic (issue 12.8, 12.2)", () => {
  const url = "https://shop.example/ab";

  it("12.8: a plain Response from options.response carries the cookie (no 500): status, headers and body kept", async () => {
    const { sessions } = setup();
    const proxy = sessionMiddleware(sessions, {
      response: (_, session) => {
        session.set("theme", "dark");
        return new Response("plain", { status: 202, headers: { "X-App": "1", "Cache-Control": "public, max-age=600" } });
      },
    });
    const response = await proxy(new NextRequest(url));
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("plain");
    expect(response.headers.get("x-app")).toBe("1");
    const [setCookie = ""] = response.headers.getSetCookie();
    expect(parseSetCookie(setCookie).name).toBe(sessions.cookieName);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    expect(response.headers.get("vary")).toMatch(/\bCookie\b/);
    // Next reads x-middleware-set-cookie to show the new cookie to the page rendered after the proxy.
    expect(response.headers.get("x-middleware-set-cookie")).toContain(parseSetCookie(setCookie).value);
    expect((await sessions.load(cookieHeader([setCookie]))).get("theme")).toBe("dark");
  });

  it("12.8: Response.redirect (immutable headers) and a Response carrying x-middleware-next keep their meaning", async () => {
    const { sessions } = setup();
    const redirect = await sessionMiddleware(sessions, {
      response: (_, session) => {
        session.set("theme", "dark");
        return Response.redirect("https://shop.example/login", 303);
      },
    })(new NextRequest(url));
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get("location")).toBe("https://shop.example/login");
    expect(redirect.headers.getSetCookie()).toHaveLength(1);
    const passed = await sessionMiddleware(sessions, {
      response: (_, session) => {
        session.set("theme", "dark");
        return new Response(null, { headers: { "x-middleware-next": "1" } });
      },
    })(new NextRequest(url));
    expect(passed.headers.get("x-middleware-next")).toBe("1");
    expect(passed.headers.getSetCookie()).toHaveLength(1);
  });

  it("12.2: a rewrite that carries a cookie marks the rewritten request (all its headers kept), and the proxy answers a marked request with private, no-store", async () => {
    const { sessions } = setup();
    const proxy = sessionMiddleware(sessions, {
      response: (request, session) => {
        if (session.get("theme") === "light") session.set("theme", "dark"); // a first visitor's A/B bucket
        return NextResponse.rewrite(new URL("/static", request.url));
      },
    });
    const response = await proxy(new NextRequest(url, { headers: { "accept-language": "fr" } }));
    expect(response.headers.get("x-middleware-rewrite")).toBe("https://shop.example/static");
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    const override = response.headers.get("x-middleware-override-headers")?.split(",");
    expect(override).toEqual(expect.arrayContaining(["accept-language", "cookie", "x-tessera-session-cookie"]));
    expect(response.headers.get("x-middleware-request-accept-language")).toBe("fr");
    expect(response.headers.get("x-middleware-request-x-tessera-session-cookie")).toBe("1");
    // The destination reads the new session through its request's Cookie header (proxied or not).
    expect(response.headers.get("x-middleware-request-cookie")).toBe(cookieHeader(response.headers.getSetCookie()));

    // The rewritten request as Next proxies it back to itself: no cookie of its own to set.
    const inner = await sessionMiddleware(sessions)(
      new NextRequest("https://shop.example/static", { headers: { "x-tessera-session-cookie": "1" } }),
    );
    expect(inner.headers.getSetCookie()).toEqual([]);
    expect(inner.headers.get("cache-control")).toBe("private, no-store");
    // Without a cookie to send, a rewrite is left alone.
    const cookie = cookieHeader(response.headers.getSetCookie());
    const again = await proxy(new NextRequest(url, { headers: { cookie } }));
    expect(again.headers.getSetCookie()).toEqual([]);
    expect(again.headers.get("x-middleware-override-headers")).toBeNull();
    expect(again.headers.get("cache-control")).toBeNull();
  });

  it("12.2: request headers the app's rewrite already overrides are kept, the mark added to them", async () => {
    const { sessions } = setup();
    const response = await sessionMiddleware(sessions, {
      response: (request, session) => {
        session.set("theme", "dark");
        return NextResponse.rewrite(new URL("/static", request.url), { request: { headers: new Headers({ "x-bucket": "b" }) } });
      },
    })(new NextRequest(url, { headers: { "accept-language": "fr" } }));
    expect(response.headers.get("x-middleware-override-headers")).toBe("x-bucket,x-tessera-session-cookie");
    expect(response.headers.get("x-middleware-request-x-bucket")).toBe("b");
    expect(response.headers.get("x-middleware-request-accept-language")).toBeNull();
    expect(response.headers.get("x-middleware-request-cookie")).toBeNull(); // the app dropped the cookies: so be it
  });

  it("12.2: a rewrite after a rotation or a logout: the rewritten request's Cookie has the new token, or none, beside the other cookies", async () => {
    const { sessions, login } = setup();
    const cookie = `${sessions.cookieName}=${await login()}`;
    const rewrite = (act: (session: Session<typeof schema>) => Promise<void>) =>
      sessionMiddleware(sessions, {
        response: async (request, session) => {
          await act(session);
          return NextResponse.rewrite(new URL("/static", request.url));
        },
      })(new NextRequest(url, { headers: { cookie: `theme=dark; ${cookie}; ${cookie}x` } }));
    const rotated = await rewrite((session) => session.rotate());
    expect(rotated.headers.get("x-middleware-request-cookie")).toBe(
      `theme=dark; ${cookieHeader(rotated.headers.getSetCookie())}`,
    );
    const loggedOut = await rewrite((session) => session.destroy());
    expect(loggedOut.headers.get("x-middleware-request-cookie")).toBe("theme=dark");
  });

  it("12.4: a cross-site POST is a 403 before the session loads; csrf: false or a trusted origin lets it through", async () => {
    const { sessions } = setup();
    const post = (headers: Record<string, string>) => new NextRequest(url, { method: "POST", headers });
    const refused = await sessionMiddleware(sessions)(post({ origin: "https://evil.example", "sec-fetch-site": "cross-site" }));
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe("Forbidden");
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect((await sessionMiddleware(sessions, { csrf: false })(post({ origin: "https://evil.example" }))).status).toBe(200);
    const trusted = sessionMiddleware(sessions, { csrf: { trustedOrigins: ["https://admin.example"] } });
    expect((await trusted(post({ origin: "https://admin.example", "sec-fetch-site": "same-site" }))).status).toBe(200);
    expect((await sessionMiddleware(sessions)(post({ origin: "https://shop.example" }))).status).toBe(200);
  });
});

describe("tesserae/next sessionRoute (Route Handlers)", () => {
  const route = <S extends typeof schema>(
    sessions: ReturnType<typeof setup>["sessions"],
    handler: (session: Awaited<ReturnType<typeof getSession<S>>>, jar: TestCookies) => Response | Promise<Response>,
    cookie?: string,
    init: { method?: string; headers?: Record<string, string> } = {},
  ) => {
    const jar = new TestCookies(cookie === undefined ? {} : { [sessions.cookieName]: cookie });
    const wrapped = sessionRoute(
      async (_: Request) => handler((await getSession(sessions, { cookies: () => jar })) as never, jar),
      {
        cookies: () => jar,
      },
    );
    return { jar, response: wrapped(new Request("https://shop.example/api", init)) };
  };

  it("12.2: a cookie written by saveSession goes out with private, no-store, replacing the handler's public, max-age=600; Vary: Cookie", async () => {
    const { sessions } = setup();
    const { jar, response } = route(sessions, async (session) => {
      session.set("theme", "dark");
      await saveSession(session);
      return Response.json({ ok: true }, { headers: { "Cache-Control": "public, max-age=600" } });
    });
    const sent = await response;
    expect(jar.written.get(sessions.cookieName)?.value).toMatch(/^[\w-]{43}$/);
    expect(sent.headers.get("cache-control")).toBe("private, no-store");
    expect(sent.headers.get("vary")).toBe("Cookie");
  });

  it("12.2: what the handler left unsaved is saved when it returns, through cookies().set; a response with immutable headers is copied", async () => {
    const { sessions } = setup();
    const { jar, response } = route(sessions, (session) => {
      session.set("userId", "u1");
      return Response.redirect("https://shop.example/account", 303);
    });
    const sent = await response;
    expect(sent.status).toBe(303);
    expect(sent.headers.get("location")).toBe("https://shop.example/account");
    expect(sent.headers.get("cache-control")).toBe("private, no-store");
    const cookie = jar.written.get(sessions.cookieName)?.value as string;
    expect((await sessions.load(`${sessions.cookieName}=${cookie}`)).get("userId")).toBe("u1");
  });

  it("a read sends Vary: Cookie and keeps the handler's Cache-Control; a handler that loads no session is left alone", async () => {
    const { sessions, login } = setup();
    const cookie = await login();
    const read = await route(
      sessions,
      (session) => Response.json(session.get("cart"), { headers: { "Cache-Control": "private, max-age=60" } }),
      cookie,
    ).response;
    expect(read.headers.get("vary")).toBe("Cookie");
    expect(read.headers.get("cache-control")).toBe("private, max-age=60");
    const plain = new Response("no session");
    expect(
      await sessionRoute((_: Request) => plain, { cookies: () => new TestCookies() })(new Request("https://shop.example/")),
    ).toBe(plain);
  });

  it("12.3: after the handler returned, a change from its streamed body throws SessionUsageError and saveSession stores nothing: no orphan row", async () => {
    const counted = countingStore(memoryStore());
    const { sessions } = setup({ store: counted.store });
    const outcome: unknown[] = [];
    let release = () => {};
    const later = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { jar, response } = route(sessions, (session) => {
      const body = new ReadableStream({
        async start(controller) {
          await later; // the response is out
          try {
            session.set("userId", "u1");
          } catch (error) {
            outcome.push(error);
          }
          outcome.push(await saveSession(session));
          const late = await getSession(sessions, { cookies: () => jar }); // loaded after the return: read-only too
          outcome.push(await late.rotate().catch((error: unknown) => error));
          controller.enqueue(new TextEncoder().encode("done"));
          controller.close();
        },
      });
      return new Response(body);
    });
    const sent = await response;
    release();
    expect(await sent.text()).toBe("done");
    expect(outcome[0]).toBeInstanceOf(SessionUsageError);
    expect((outcome[0] as Error).message).toMatch(/^session\.set\(\) after the Route Handler returned its response/);
    expect(outcome[1]).toBe(false);
    expect(outcome[2]).toBeInstanceOf(SessionUsageError);
    expect(jar.written.size).toBe(0);
    expect(sent.headers.getSetCookie()).toEqual([]);
    expect(writes(counted.calls)).toBe(0);
  });

  it("12.9: a handler that throws commits nothing (the error goes on to Next's 500); one that answers 500 or more saves nothing more either", async () => {
    const { sessions, login } = setup();
    const cookie = await login();
    const thrown = route(
      sessions,
      (session) => {
        session.set("userId", "admin");
        throw new Error("check failed");
      },
      cookie,
    );
    await expect(thrown.response).rejects.toThrow("check failed");
    const failed = await route(
      sessions,
      (session) => {
        session.set("userId", "admin");
        return new Response("upstream down", { status: 502 });
      },
      cookie,
    ).response;
    expect(failed.status).toBe(502);
    expect(thrown.jar.written.size).toBe(0);
    const stored = await sessions.load(`${sessions.cookieName}=${cookie}`);
    expect(stored.isNew).toBe(false);
    expect(stored.get("userId")).toBeUndefined();
  });

  it("12.2: a session error after saveSession wrote a cookie: the answer, to which Next appends that cookie, is private, no-store", async () => {
    const { sessions } = setup();
    const { jar, response } = route(sessions, async (session) => {
      session.set("theme", "dark");
      await saveSession(session);
      throw new SessionStoreError("the store went away");
    });
    const answered = await response;
    expect(answered.status).toBe(503);
    expect(jar.written.size).toBe(1);
    expect(answered.headers.get("cache-control")).toBe("private, no-store");
  });

  it("12.4: a cross-site POST is a 403 before the handler runs; csrf: false lets it through", async () => {
    let ran = 0;
    const handler = (_: Request) => {
      ran++;
      return new Response("ok");
    };
    const cross = { method: "POST", headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } };
    const refused = await sessionRoute(handler, { cookies: () => new TestCookies() })(
      new Request("https://shop.example/api", cross),
    );
    expect(refused.status).toBe(403);
    expect(ran).toBe(0);
    const allowed = await sessionRoute(handler, { cookies: () => new TestCookies(), csrf: false })(
      new Request("https://shop.example/api", cross),
    );
    expect(allowed.status).toBe(200);
    expect(ran).toBe(1);
    expect(() => sessionRoute("handler" as never)).toThrow(SessionConfigError);
  });
});

/**
 * One request's `await cookies()` as Next gives it to a Route Handler: it reads the request's
 * cookies and what was set since; what is set goes out on the handler's response
 * (`appendMutableCookies` in Next's app-route module), even on an error answer.
 */
function requestCookies(request: NextRequest) {
  const outgoing = NextResponse.next(); // only its cookie store is used, as Next's mutable cookies()
  const jar: NextCookies = {
    get: (name) => outgoing.cookies.get(name) ?? request.cookies.get(name),
    set: (name, value, attributes) => outgoing.cookies.set(name, value, attributes),
  };
  const finalize = (response: Response) => {
    const headers = new Headers(response.headers);
    for (const setCookie of outgoing.headers.getSetCookie()) headers.append("Set-Cookie", setCookie);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  };
  return { jar, finalize };
}

/**
 * Next's request pipeline for a proxy and a Route Handler: the proxy first; when it passes the
 * request on, the handler, whose response headers are added to the proxy's as Next's
 * `sendResponse` does (Set-Cookie and Vary appended, any other only when the proxy set none).
 * An error that escapes is a development error page (with the stack).
 */
async function serveNext(
  proxy: (request: NextRequest) => Promise<Response>,
  route: (request: NextRequest, jar: NextCookies) => Promise<Response>,
) {
  const handle = async (incoming: Request): Promise<Response> => {
    const body = incoming.method === "GET" || incoming.method === "HEAD" ? null : await incoming.arrayBuffer();
    const request = new NextRequest(incoming.url, { method: incoming.method, headers: incoming.headers, body });
    const proxied = await proxy(request);
    const headers = new Headers();
    for (const [name, value] of proxied.headers)
      if (!name.startsWith("x-middleware-") && name !== "set-cookie") headers.set(name, value);
    for (const setCookie of proxied.headers.getSetCookie()) headers.append("Set-Cookie", setCookie);
    if (proxied.headers.get("x-middleware-next") !== "1") return new Response(proxied.body, { status: proxied.status, headers });
    const { jar, finalize } = requestCookies(request);
    const response = finalize(await route(request, jar));
    for (const [name, value] of response.headers) {
      if (name === "set-cookie") continue;
      if (name === "vary" || !headers.has(name)) headers.append(name, value);
    }
    for (const setCookie of response.headers.getSetCookie()) headers.append("Set-Cookie", setCookie);
    return new Response(response.body, { status: response.status, headers });
  };
  const server: Server = createServer(getRequestListener((request) => handle(request).catch(devErrorPage)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    request: httpRequest(origin),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()),
  };
}

/**
 * The scenario's Route Handler, written as docs/adapters.md says: `sessionRoute` around a handler
 * that uses `getSession` (what it leaves unsaved is saved when it returns).
 */
function scenarioRoute(sessions: ContractSessions, pause: () => Promise<void>) {
  return (request: NextRequest, jar: NextCookies) =>
    sessionRoute(
      async (_: NextRequest) => {
        const session = await getSession(sessions, { cookies: () => jar });
        const path = request.nextUrl.pathname;
        if (path === "/login" || path === "/cached-login") session.set("userId", "u1");
        if (path === "/pause") {
          session.set("cart", [{ sku: "p", qty: 1 }]);
          await pause();
        }
        if (path === "/pause-rotate") {
          await pause();
          await session.rotate();
        }
        if (path === "/write-throw") {
          session.set("userId", "admin");
          throw new Error("check failed");
        }
        const headers: Record<string, string> = path === "/cached-login" ? { "Cache-Control": "public, max-age=600" } : {};
        return Response.json({ userId: session.get("userId") ?? null }, { headers });
      },
      { cookies: () => jar },
    )(request);
}

const serveScenario: ServeScenario = (sessions, pause) => serveNext(sessionMiddleware(sessions), scenarioRoute(sessions, pause));

describe("tesserae/next (proxy, then sessionRoute with getSession in a Route Handler): the shared session-error scenario", () =>
  sessionErrorContract(serveScenario));
