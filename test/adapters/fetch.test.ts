import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { withSession } from "../../src/adapters/fetch.js";
import { defineSession, type Session, SessionConfigError, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { listen } from "../helpers/listen.js";
import {
  adapterContract,
  closedStore,
  devErrorPage,
  expectStoreDown,
  httpRequest,
  type ServeScenario,
  sessionErrorContract,
} from "./adapter-contract.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
});
type Schema = typeof schema;

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
    return Response.json({ userId: session.get("userId") ?? null, cart: session.get("cart") });
  });
}

describe("tessera/fetch withSession over HTTP", () => {
  const seen: { session?: Session<Schema> } = {};
  const sessions = defineSession({ schema, store: memoryStore() });
  let server: Awaited<ReturnType<typeof listen>>;
  const get = (path: string, cookie?: string) =>
    fetch(server.url + path, { redirect: "manual", headers: cookie === undefined ? {} : { Cookie: cookie } });
  const login = async () => cookieHeader((await get("/login")).headers.getSetCookie());
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

  it("R20: after the handler returned, a change throws SessionConfigError instead of being lost", async () => {
    const cookie = await login();
    await get("/me", cookie);
    const late = seen.session as Session<Schema>;
    expect(() => late.set("userId", "u9")).toThrow(SessionConfigError);
    await expect(late.rotate()).rejects.toMatchObject({ code: "CONFIG" });
    expect(late.get("userId")).toBe("u1");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u1" });
  });

  it("convention 10: bad arguments fail at creation with SessionConfigError", () => {
    expect(() => withSession({} as never, () => new Response())).toThrow(SessionConfigError);
    expect(() => withSession(sessions, undefined as never)).toThrow(SessionConfigError);
    expect(() => withSession(sessions, () => new Response(), { onStoreError: "503" as never })).toThrow(SessionConfigError);
  });
});

describe("tessera/fetch when the store is down", () => {
  let sessions: SessionManager<Schema>;
  let cookie: string;
  beforeAll(async () => {
    ({ sessions, cookie } = await closedStore(schema));
  });

  it("R48/R49: a failed load or save gives a 503 with no stack trace and no Set-Cookie", async () => {
    const server = await listen(app(sessions));
    try {
      await expectStoreDown(server.url, cookie);
    } finally {
      await server.close();
    }
  });

  it("onStoreError replaces the default 503", async () => {
    const handler = withSession(sessions, () => new Response("never"), {
      onStoreError: (error) => Response.json({ code: error.code }, { status: 503 }),
    });
    const response = await handler(new Request("http://x/", { headers: { Cookie: cookie } }));
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ code: "STORE_UNAVAILABLE" });
    expect(response.headers.get("Vary")).toBe("Cookie");
  });
});

/** The error scenario's app: an error that escapes withSession reaches the server's (development) error page. */
const serveScenario: ServeScenario = async (sessions, pause) => {
  const handler = withSession(sessions, async (request, session) => {
    const { pathname } = new URL(request.url);
    if (pathname === "/login") session.set("userId", "u1");
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
  return { request: httpRequest(server.url), close: server.close };
};

describe("tessera/fetch: the shared session-error scenario", () => sessionErrorContract(serveScenario));
