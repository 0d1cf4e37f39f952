import { Hono } from "hono";
import { stream } from "hono/streaming";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { honoSession } from "../../src/adapters/hono.js";
import { defineSession, SessionConfigError, type SessionManager, SessionUsageError } from "../../src/index.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { listen } from "../helpers/listen.js";
import {
  adapterContract,
  devErrorPage,
  httpRequest,
  type ServeScenario,
  contractSchema as schema,
  sessionErrorContract,
} from "./adapter-contract.js";
import {
  cacheableUpstream,
  crossSiteStatus,
  expectCsrfOptions,
  expectOnStoreErrorAnswer,
  expectRawCrossSiteRefused,
  httpClient,
  rawPost,
  storeDownTests,
} from "./harness.js";

type Schema = typeof schema;

const upstream = cacheableUpstream();

/** The app under test; `late` collects what a change after the response threw. */
function app(sessions: SessionManager<Schema>, late: unknown[] = []) {
  return new Hono()
    .use(honoSession(sessions))
    .use("/inner/*", async (c, next) => {
      await next(); // mounted after honoSession: runs before its commit
      c.header("Cache-Control", "public, max-age=600");
    })
    .get("/login", (c) => {
      c.get("session").set("userId", "u1");
      return c.text("ok");
    })
    .get("/cart", (c) => {
      c.get("session").set("cart", [{ sku: "a", qty: 2 }]);
      return c.body(null, 204);
    })
    .get("/rotate", async (c) => {
      await c.get("session").rotate();
      return c.body(null, 204);
    })
    .get("/logout", async (c) => {
      await c.get("session").destroy();
      return c.body(null, 204);
    })
    .get("/redirect", (c) => {
      c.get("session").set("userId", "u2");
      return c.redirect("/me", 303);
    })
    .get("/upstream", () => Response.redirect("http://127.0.0.1/elsewhere", 302)) // immutable headers
    .get("/vary", (c) => c.text("v", 200, { Vary: "Accept-Encoding", "Cache-Control": "private" }))
    .get("/boom", (c) => {
      c.get("session").set("userId", "u3");
      throw new Error("boom");
    })
    .get("/unavailable", (c) => {
      c.get("session").set("userId", "u4");
      return c.text("down", 503); // an answer of 500 or more, not a throw
    })
    .get("/passthrough", async (c) => {
      c.get("session").set("userId", "u5");
      return fetch(upstream()); // immutable headers, public, max-age=600
    })
    .get("/inner/login", (c) => {
      c.get("session").set("userId", "u6");
      return c.text("ok");
    })
    .get("/stream", (c) =>
      stream(c, async (s) => {
        await s.write("a");
        try {
          c.get("session").set("userId", "late");
        } catch (error) {
          late.push(error);
        }
        await s.write("b");
      }),
    )
    .get("/me", (c) => c.json({ userId: c.get("session").get("userId") ?? null, cart: c.get("session").get("cart") }))
    .onError((error, c) => c.text(error.message, 500));
}

describe("tesserae/hono honoSession over HTTP", () => {
  const sessions = defineSession({ schema, store: memoryStore() });
  const late: unknown[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  const { get, login, expectUncommitted, expectFailsUncommitted } = httpClient(() => server.url);
  beforeAll(async () => {
    server = await listen(app(sessions, late).fetch);
  });
  afterAll(() => server.close());

  describe("the shared adapter scenario", () => adapterContract(() => server.url));

  it("c.redirect and a returned Response with immutable headers both get the headers", async () => {
    const redirect = await get("/redirect");
    expect(redirect.status).toBe(303);
    expect(await (await get("/me", cookieHeader(redirect.headers.getSetCookie()))).json()).toMatchObject({ userId: "u2" });
    const upstream = await get("/upstream");
    expect(upstream.status).toBe(302);
    expect(upstream.headers.get("Vary")).toBe("Cookie");
  });

  it("12.9: a handler that throws (c.error set) commits nothing: app.onError's 500 has no Set-Cookie", async () => {
    const cookie = await login();
    const response = await get("/boom", cookie);
    expect(response.status).toBe(500);
    expect(response.headers.get("Vary")).toBe("Cookie");
    await expectUncommitted(response, cookie);
    expect((await get("/boom")).headers.getSetCookie()).toEqual([]);
  });

  it("12.9: a response of 500 or more commits nothing, as a throw", async () => {
    await expectFailsUncommitted("/unavailable", 503);
  });

  it("12.2: a fetch() passthrough's public, max-age=600 and a later middleware's Cache-Control become private, no-store", async () => {
    for (const path of ["/passthrough", "/inner/login"]) {
      const response = await get(path);
      expect(response.headers.getSetCookie(), path).toHaveLength(1);
      expect(response.headers.get("Cache-Control"), path).toBe("private, no-store");
      expect(response.headers.get("Vary"), path).toBe("Cookie");
    }
    expect(await (await get("/passthrough")).text()).toBe("upstream");
  });

  it("12.4: a cross-site POST is a 403 before the session loads; csrf: false and trustedOrigins open it", async () => {
    const { sessions: counting, cookie } = await expectCsrfOptions(
      { secFetchSite: "cross-site", refusedTrustedOrigin: "https://admin.example:8443" },
      (counting, options) => {
        const target = new Hono().use(honoSession(counting, options)).post("/login", (c) => {
          c.get("session").set("userId", "u2");
          return c.text("ok");
        });
        return { post: async (headers) => target.request("http://app.example/login", { method: "POST", headers }) };
      },
    );
    expect((await counting.load(cookie)).get("userId")).toBe("u2"); // only the allowed posts wrote
    expect(() => honoSession(sessions, { csrf: { trustedOrigins: ["admin.example"] } })).toThrow(SessionConfigError);
  });

  it("12.4 attacked: duplicate Origin and Sec-Fetch-Site headers over raw HTTP are refused, a 10 KB Origin too", async () => {
    await expectRawCrossSiteRefused(server.url);
    const withToken = await rawPost(server.url)(`Cookie: ${await login()}`, "Origin: https://evil.example");
    expect(withToken.status).toBe(403);
    expect(withToken.text).not.toMatch(/set-cookie/i);
  });

  it("12.4: HEAD and OPTIONS from another site pass; PUT and DELETE are checked", async () => {
    expect(await crossSiteStatus(server.url, "HEAD")).toBe(200);
    expect(await crossSiteStatus(server.url, "OPTIONS")).toBe(404); // no such route, but not refused
    for (const method of ["PUT", "DELETE", "PATCH"]) {
      expect(await crossSiteStatus(server.url, method), method).toBe(403);
    }
  });

  it("R20: a change from a stream after the response was returned throws SessionUsageError", async () => {
    const cookie = await login();
    const response = await get("/stream", cookie);
    expect(await response.text()).toBe("ab");
    expect(late).toHaveLength(1);
    expect(late[0]).toBeInstanceOf(SessionUsageError);
    expect((late[0] as SessionUsageError).code).toBe("SESSION_USAGE");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u1" });
  });

  it("convention 10: bad arguments fail at creation with SessionConfigError", () => {
    expect(() => honoSession({} as never)).toThrow(SessionConfigError);
    expect(() => honoSession(sessions, { onStoreError: "503" as never })).toThrow(SessionConfigError);
  });
});

describe.each([
  ["a server-side store", () => defineSession({ schema, store: memoryStore() })],
  ["the cookie store", () => defineSession({ schema, store: cookieStore({ secrets: ["s".repeat(32)] }) })],
])("tesserae/hono mounted twice, by an app and its sub-app, on %s (issue 12.7)", (_store, define) => {
  const sessions = define();
  let visits = 0;
  const sub = new Hono()
    .use(honoSession(sessions))
    .post("/login", async (c) => {
      await c.get("session").login("userId", "u1"); // rotates, as a login must
      return c.text("ok");
    })
    .get("/me", (c) => c.json({ userId: c.get("session").get("userId") ?? null }));
  const main = new Hono()
    .use(honoSession(sessions))
    .use(async (c, next) => {
      // The app's own per-request write (last seen): with two sessions, the outer one's save undid the login.
      c.get("session").set("cart", [{ sku: "visit", qty: ++visits }]);
      await next();
    })
    .get("/me", (c) => c.json({ userId: c.get("session").get("userId") ?? null }))
    .route("/sub", sub);

  it("12.7: a login through the doubly-mounted app sends exactly one Set-Cookie and the user stays logged in", async () => {
    const anonymous = await main.request("/sub/me");
    expect(anonymous.headers.getSetCookie()).toHaveLength(1); // the app's write made a session
    const response = await main.request("/sub/login", {
      method: "POST",
      headers: { Cookie: cookieHeader(anonymous.headers.getSetCookie()) },
    });
    expect(response.status).toBe(200);
    const setCookies = response.headers.getSetCookie();
    expect(setCookies).toHaveLength(1);
    expect(setCookies[0]).not.toMatch(/Max-Age=0/);
    const cookie = cookieHeader(setCookies);
    for (const path of ["/sub/me", "/me"]) {
      expect(await (await main.request(path, { headers: { Cookie: cookie } })).json(), path).toEqual({ userId: "u1" });
    }
    // Logging in again from the logged-in session: one rotation, one cookie, still logged in.
    const again = await main.request("/sub/login", { method: "POST", headers: { Cookie: cookie } });
    expect(again.headers.getSetCookie()).toHaveLength(1);
    const rotated = cookieHeader(again.headers.getSetCookie());
    expect(await (await main.request("/me", { headers: { Cookie: rotated } })).json()).toEqual({ userId: "u1" });
  });

  it("12.7: a sub-app's csrf refuses under an app mounted with csrf: false: a 403 with no Set-Cookie, the session unchanged", async () => {
    const rolling = defineSession({ schema, store: memoryStore(), rolling: true, touchAfter: 0 }); // a refresh due on every request
    const nested = new Hono()
      .use(honoSession(rolling, { csrf: false }))
      .post("/hook", (c) => c.text("outer, unchecked"))
      .route(
        "/sub",
        new Hono().use(honoSession(rolling)).post("/login", (c) => c.text(String(c.get("session").set("userId", "u1")))),
      );
    const first = await rolling.load(undefined);
    first.set("userId", "u0");
    const cookie = cookieHeader(await first.commit());
    const headers = { Cookie: cookie, Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" };
    expect((await nested.request("/hook", { method: "POST", headers })).status).toBe(200);
    const refused = await nested.request("/sub/login", { method: "POST", headers });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe("Forbidden");
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect((await rolling.load(cookie)).get("userId")).toBe("u0");
  });

  it("12.7: mounted twice with two different managers is a SessionConfigError on the error path, nothing committed", async () => {
    const errors: unknown[] = [];
    const other = defineSession({ schema, store: memoryStore() });
    const mixed = new Hono()
      .use(honoSession(sessions))
      .route(
        "/sub",
        new Hono().use(honoSession(other)).post("/login", (c) => c.text(String(c.get("session").set("userId", "u1")))),
      )
      .onError((error, c) => {
        errors.push(error);
        return c.text("failed", 500);
      });
    const response = await mixed.request("/sub/login", { method: "POST" });
    expect(response.status).toBe(500);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(errors[0]).toBeInstanceOf(SessionConfigError);
  });
});

describe("tesserae/hono when the store is down", () => {
  const down = storeDownTests((sessions) => listen(app(sessions).fetch));

  it("onStoreError replaces the default 503", async () => {
    const { sessions, cookie } = down();
    const custom = new Hono()
      .use(honoSession(sessions, { onStoreError: (error, c) => c.json({ code: error.code }, 503) }))
      .get("/", (c) => c.text("never"));
    await expectOnStoreErrorAnswer(await custom.request("/", { headers: { Cookie: cookie } }));
  });
});

/** The error scenario's app; its `onError` answers as a development error page does (with the stack). */
const serveScenario: ServeScenario = async (sessions, pause) => {
  const scenario = new Hono()
    .use(honoSession(sessions))
    .all("/login", (c) => c.json({ ok: c.get("session").set("userId", "u1") ?? true }))
    .all("/cached-login", (c) =>
      c.json({ ok: c.get("session").set("userId", "u1") ?? true }, 200, { "Cache-Control": "public, max-age=600" }),
    )
    .all("/write-throw", (c) => {
      c.get("session").set("userId", "admin");
      throw new Error("check failed");
    })
    .all("/pause", async (c) => {
      c.get("session").set("cart", [{ sku: "p", qty: 1 }]);
      await pause();
      return c.json({ ok: true });
    })
    .all("/pause-rotate", async (c) => {
      await pause();
      await c.get("session").rotate();
      return c.json({ ok: true });
    })
    .all("/me", (c) => c.json({ userId: c.get("session").get("userId") ?? null }))
    .onError((error) => devErrorPage(error));
  const server = await listen(scenario.fetch);
  return { request: httpRequest(server.url), origin: server.url, close: server.close };
};

describe("tesserae/hono: the shared session-error scenario", () => sessionErrorContract(serveScenario));
