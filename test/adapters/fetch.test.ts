import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withSession } from "../../src/adapters/fetch.js";
import { defineSession, type Session, SessionConfigError, type SessionManager, SessionUsageError } from "../../src/index.js";
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
import { cacheableUpstream, expectCsrfOptions, expectOnStoreErrorAnswer, httpClient, storeDownTests } from "./harness.js";

type Schema = typeof schema;

const upstream = cacheableUpstream();

/** The app under test: one route per behaviour. */
function app(sessions: SessionManager<Schema>, seen: { session?: Session<Schema> } = {}) {
  return withSession(sessions, async (request, session) => {
    seen.session = session;
    const { pathname } = new URL(request.url);
    if (pathname === "/login") session.set("userId", "u1");
    if (pathname === "/cart") session.set("cart", [{ sku: "a", qty: 2 }]);
    if (pathname === "/rotate") await session.rotate();
    if (pathname === "/logout") await session.destroy();
    if (pathname === "/redirect") {
      session.set("userId", "u2");
      return Response.redirect(new URL("/me", request.url), 303); // immutable headers
    }
    if (pathname === "/vary") return new Response("v", { headers: { Vary: "Accept-Encoding", "Cache-Control": "private" } });
    if (pathname === "/boom") throw new Error("boom");
    if (pathname === "/unavailable") {
      session.set("userId", "u4");
      return new Response("down", { status: 503 });
    }
    if (pathname === "/passthrough") {
      session.set("userId", "u5");
      return fetch(upstream()); // immutable headers, public, max-age=600
    }
    return Response.json({ userId: session.get("userId") ?? null, cart: session.get("cart") });
  });
}

describe("tesserae/fetch withSession over HTTP", () => {
  const seen: { session?: Session<Schema> } = {};
  const sessions = defineSession({ schema, store: memoryStore() });
  let server: Awaited<ReturnType<typeof listen>>;
  const { get, login, expectFailsUncommitted } = httpClient(() => server.url);
  beforeAll(async () => {
    server = await listen(app(sessions, seen));
  });
  afterAll(() => server.close());

  describe("the shared adapter scenario", () => adapterContract(() => server.url));

  it("a redirect (immutable headers) carries the cookie", async () => {
    const response = await get("/redirect");
    expect(response.status).toBe(303);
    const cookie = cookieHeader(response.headers.getSetCookie());
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u2" });
  });

  it("other errors propagate; the handler's changes are not saved", async () => {
    const handler = app(sessions);
    await expect(handler(new Request("http://x/boom"))).rejects.toThrow("boom");
  });

  it("12.9: a response of 500 or more commits nothing, as a throw", async () => {
    const response = await expectFailsUncommitted("/unavailable", 503);
    expect(response.headers.get("Vary")).toBe("Cookie");
  });

  it("12.2: a fetch() passthrough's public, max-age=600 becomes private, no-store with the cookie", async () => {
    const response = await get("/passthrough");
    expect(response.headers.getSetCookie()).toHaveLength(1);
    expect(response.headers.get("Cache-Control")).toBe("private, no-store");
    expect(response.headers.get("Vary")).toBe("Cookie");
    expect(await response.text()).toBe("upstream");
  });

  it("12.4: a cross-site POST is a 403 before the session loads; csrf: false and trustedOrigins open it", async () => {
    const { sessions: counting } = await expectCsrfOptions(
      { secFetchSite: "same-site", refusedTrustedOrigin: "https://other.example" },
      (counting, options) => {
        const handler = withSession(
          counting,
          (_request, session) => {
            session.set("userId", "u2");
            return new Response("ok");
          },
          options,
        );
        return { post: (headers) => handler(new Request("http://app.example/login", { method: "POST", headers })) };
      },
    );
    // Without a Host header (a Request built in code), the URL's host is the request's own.
    const handler = withSession(counting, () => new Response("ok"));
    const own = new Request("http://app.example/login", { method: "POST", headers: { Origin: "http://app.example" } });
    expect((await handler(own)).status).toBe(200);
    expect(() => withSession(counting, () => new Response(), { csrf: { trustedOrigins: ["*"] } })).toThrow(SessionConfigError);
  });

  it("R20: after the handler returned, a change throws SessionUsageError instead of being lost", async () => {
    const cookie = await login();
    await get("/me", cookie);
    const late = seen.session as Session<Schema>;
    expect(() => late.set("userId", "u9")).toThrow(SessionUsageError);
    await expect(late.rotate()).rejects.toMatchObject({ code: "SESSION_USAGE" });
    expect(late.get("userId")).toBe("u1");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u1" });
  });

  it("convention 10: bad arguments fail at creation with SessionConfigError", () => {
    expect(() => withSession({} as never, () => new Response())).toThrow(SessionConfigError);
    expect(() => withSession(sessions, undefined as never)).toThrow(SessionConfigError);
    expect(() => withSession(sessions, () => new Response(), { onStoreError: "503" as never })).toThrow(SessionConfigError);
  });
});

describe("tesserae/fetch when the store is down", () => {
  const down = storeDownTests((sessions) => listen(app(sessions)));

  it("onStoreError replaces the default 503", async () => {
    const { sessions, cookie } = down();
    const handler = withSession(sessions, () => new Response("never"), {
      onStoreError: (error) => Response.json({ code: error.code }, { status: 503 }),
    });
    await expectOnStoreErrorAnswer(await handler(new Request("http://x/", { headers: { Cookie: cookie } })));
  });
});

/** The error scenario's app: an error that escapes withSession reaches the server's (development) error page. */
const serveScenario: ServeScenario = async (sessions, pause) => {
  const handler = withSession(sessions, async (request, session) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/login") session.set("userId", "u1");
    if (pathname === "/cached-login") {
      session.set("userId", "u1");
      return Response.json({ ok: true }, { headers: { "Cache-Control": "public, max-age=600" } });
    }
    if (pathname === "/write-throw") {
      session.set("userId", "admin");
      throw new Error("check failed");
    }
    if (pathname === "/pause") {
      session.set("cart", [{ sku: "p", qty: 1 }]);
      await pause();
    }
    if (pathname === "/pause-rotate") {
      await pause();
      await session.rotate();
    }
    return Response.json({ userId: session.get("userId") ?? null });
  });
  const server = await listen((request) => handler(request).catch(devErrorPage));
  return { request: httpRequest(server.url), origin: server.url, close: server.close };
};

describe("tesserae/fetch: the shared session-error scenario", () => sessionErrorContract(serveScenario));
