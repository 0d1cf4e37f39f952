import { afterEach, expect, it } from "vitest";
import * as z from "zod";
import {
  defineSession,
  SessionCorruptError,
  type SessionKey,
  type SessionManager,
  type SessionPatch,
  type SessionSchema,
  type SessionStore,
  SessionTooLargeError,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { attribute, cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";
import { openPglite } from "../helpers/databases.js";

/**
 * The shared scenario (`sessionErrorContract`, run by every adapter: express, fetch, hono, next,
 * trpc). Each harness builds an app over the `ContractSessions` it is given and serves these
 * paths; `request(path, cookie, init)` sends `init.method` (GET by default) and `init.headers`
 * (tRPC sends its mutations as POST whatever `init` says, and its queries as GET). Every path
 * answers GET and POST, with the adapter's defaults (the `csrf` check on).
 * | path | query/mutation | does | answers |
 * |---|---|---|---|
 * | `/me` | query | reads | JSON `{ userId }` (userId or null) |
 * | `/login` | mutation | `set("userId", "u1")` | 200 |
 * | `/pause` | mutation | `set("cart", [{ sku: "p", qty: 1 }])`, then `await pause()` | 200 |
 * | `/pause-rotate` | mutation | `await pause()`, then `await rotate()` | 200 |
 * | `/cached-login` | mutation | `set("userId", "u1")`; the app sets `Cache-Control: public, max-age=600` on its own response (tRPC: `responseMeta` returning `{ headers: { "cache-control": … } }`) | 200 |
 * | `/write-throw` | mutation | `set("userId", "admin")`, then `throw new Error("check failed")` (an app error, not the session's) | the framework's error path (500) |
 * An error that reaches the app's own error path is answered as a development server does: a 500
 * carrying the stack (`devErrorPage`). `ScenarioServer.origin` is the origin the harness is
 * reached at (`http://127.0.0.1:<port>`), for the same-origin requests.
 */

/**
 * The HTTP behaviour every adapter shares, run against each framework's test app. The app
 * serves: `/login` (sets userId "u1"), `/cart` (sets a cart), `/rotate`, `/logout` (destroy),
 * `/vary` (answers with its own `Vary: Accept-Encoding` and `Cache-Control: private`) and
 * `/me` (JSON `{ userId, cart }`).
 */
export function adapterContract(url: () => string): void {
  const get = (path: string, cookie?: string) =>
    fetch(url() + path, { redirect: "manual", headers: cookie === undefined ? {} : { Cookie: cookie } });
  const login = async () => cookieHeader((await get("/login")).headers.getSetCookie());
  const nameOf = (cookie: string) => cookie.slice(0, cookie.indexOf("="));

  it("sets a value and reads it back with the returned cookie", async () => {
    const cookie = await login();
    const cart = await get("/cart", cookie);
    expect(cart.headers.getSetCookie()).toEqual([]); // a data write to a stored session needs no new cookie
    expect(await (await get("/me", cookie)).json()).toEqual({ userId: "u1", cart: [{ sku: "a", qty: 2 }] });
  });

  it("R12/R13: the Set-Cookie carries HttpOnly, Secure, SameSite=Lax and Path=/", async () => {
    const [setCookie = ""] = (await get("/login")).headers.getSetCookie();
    expect(attribute(setCookie, "HttpOnly")).toBe("");
    expect(attribute(setCookie, "Secure")).toBe("");
    expect(attribute(setCookie, "SameSite")).toBe("Lax");
    expect(attribute(setCookie, "Path")).toBe("/");
    expect(attribute(setCookie, "Domain")).toBeUndefined();
  });

  it("R18: Cache-Control: private, no-store with a cookie, Vary: Cookie on every response, the handler's Vary kept", async () => {
    const first = await get("/login");
    expect(first.headers.get("Cache-Control")).toBe("private, no-store");
    expect(first.headers.get("Vary")).toBe("Cookie");
    const read = await get("/me", cookieHeader(first.headers.getSetCookie()));
    expect(read.headers.getSetCookie()).toEqual([]);
    expect(read.headers.get("Cache-Control")).toBeNull();
    expect(read.headers.get("Vary")).toBe("Cookie");
    const vary = await get("/vary");
    expect(vary.headers.get("Vary")).toBe("Accept-Encoding, Cookie");
    expect(vary.headers.get("Cache-Control")).toBe("private");
  });

  it("R21: rotate gives a new cookie with the same data, and the old cookie loads a fresh session", async () => {
    const old = await login();
    const rotated = await get("/rotate", old);
    const fresh = cookieHeader(rotated.headers.getSetCookie());
    expect(fresh).not.toBe(old);
    expect(rotated.headers.get("Cache-Control")).toBe("private, no-store");
    expect(await (await get("/me", fresh)).json()).toMatchObject({ userId: "u1" });
    expect(await (await get("/me", old)).json()).toMatchObject({ userId: null });
  });

  it("R17/R24: destroy clears the cookie and the old cookie then gives a fresh session", async () => {
    const cookie = await login();
    const [cleared = ""] = (await get("/logout", cookie)).headers.getSetCookie();
    expect(cookieHeader([cleared])).toBe(`${nameOf(cookie)}=`);
    expect(attribute(cleared, "Max-Age")).toBe("0");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: null });
  });

  it("R6/R38: a malformed or unknown cookie is a fresh session, not an error, and is not echoed", async () => {
    const name = nameOf(await login());
    for (const cookie of [`${name}=%%%garbage`, `${name}=${"A".repeat(43)}`, `${name}=`]) {
      const response = await get("/me", cookie);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ userId: null, cart: [] });
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  });
}

/** A manager whose store is gone: Drizzle on a PGlite closed after one session was saved, and that session's cookie. */
export async function closedStore<S extends SessionSchema>(schema: S): Promise<{ sessions: SessionManager<S>; cookie: string }> {
  const database = await openPglite();
  const sessions = defineSession({ schema, store: database.store, storeTimeout: 0.5 });
  const session = await sessions.load(undefined);
  session.set("userId" as SessionKey<S>, "u1" as never);
  const cookie = cookieHeader(await session.commit());
  await database.close();
  return { sessions, cookie };
}

/** R48/R49: a failed load (`/me` with the cookie) and a failed save (`/login`) are plain 503s without a cookie. */
export async function expectStoreDown(url: string, cookie: string): Promise<void> {
  const load = await fetch(`${url}/me`, { headers: { Cookie: cookie } });
  const save = await fetch(`${url}/login`);
  for (const response of [load, save]) {
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(body).toBe("Service Unavailable");
    expect(body).not.toMatch(/\bat\s|Error/);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("Vary")).toBe("Cookie");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  }
}

/** The schema every adapter's error-scenario app is built on. */
export const contractSchema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
});
export type ContractSessions = SessionManager<typeof contractSchema>;

/**
 * The paths of the error scenario: `/me` reads, `/login` sets userId "u1", `/pause` sets a cart
 * then awaits `pause()`, `/pause-rotate` awaits `pause()` then calls `rotate()` in the handler.
 */
export type ScenarioPath = "/me" | "/login" | "/pause" | "/pause-rotate" | "/cached-login" | "/write-throw";

/** How the scenario sends a request: the method (GET by default) and extra headers. */
export interface ScenarioInit {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
}

/** One adapter's app for the error scenario, as its harness serves it. */
export interface ScenarioServer {
  /** One HTTP request to `path`, with `cookie` (`name=value`) when given, and `init`'s method and headers. */
  request(path: ScenarioPath, cookie?: string, init?: ScenarioInit): Promise<Response>;
  /** The origin the app is reached at, `http://127.0.0.1:<port>`: a same-origin browser's `Origin`. */
  origin?: string;
  close(): Promise<void>;
}

/**
 * Builds the adapter's app over `sessions`. Its `/pause` route calls `pause()` after its write
 * and before it returns, so a test acts between the load and the commit. Anything that reaches
 * the app's own error path is answered as a development server does: a 500 carrying the stack.
 */
export type ServeScenario = (sessions: ContractSessions, pause: () => Promise<void>) => Promise<ScenarioServer>;

/** What a development server's error page shows for an error that reached it: its stack. */
export function devErrorPage(error: unknown): Response {
  return new Response(error instanceof Error ? (error.stack ?? String(error)) : String(error), { status: 500 });
}

/** A `request` over real HTTP to `url`, for the harnesses whose paths are the scenario's. */
export function httpRequest(url: string): ScenarioServer["request"] {
  return (path, cookie, init = {}) =>
    fetch(url + path, {
      method: init.method ?? "GET",
      redirect: "manual",
      headers: { ...init.headers, ...(cookie === undefined ? {} : { Cookie: cookie }) },
    });
}

/**
 * A store that fails one way on `patch` once armed, over a real memory store: what a store that
 * enforces `SessionPatch.maxBytes` atomically throws when another request grew the record
 * meanwhile (`SessionTooLargeError`), or one that finds the record unreadable (`SessionCorruptError`).
 */
function patchFails(fault: (patch: SessionPatch) => Error): { store: SessionStore; arm(): void } {
  const store = memoryStore();
  let armed = false;
  return {
    store: {
      ...store,
      patch: (id, patch, now) => (armed ? Promise.reject(fault(patch)) : store.patch(id, patch, now)),
    },
    arm: () => {
      armed = true;
    },
  };
}

/** A one-shot pause: the handler awaits `wait()`; the test awaits `reached` and then calls `release()`. */
function createPause() {
  let reach = () => {};
  let release = () => {};
  const reached = new Promise<void>((resolve) => {
    reach = resolve;
  });
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    wait: async () => {
      reach();
      await released;
    },
    reached,
    release,
  };
}

/**
 * The answer every adapter gives a session error it handles (B6, docs/adapters.md): the status,
 * no stack trace or error name in the body, no `Set-Cookie` from the answer (the client's cookie
 * stays, and a dead session is neither revived nor cleared), `Cache-Control: no-store` and
 * `Vary: Cookie`. The one cookie allowed is `sent` itself, unchanged: Next's proxy may have
 * refreshed its expiry before the route ran, which gives the dead token nothing (with
 * `Cache-Control: private, no-store` then, as every response with a session cookie).
 */
async function expectSessionError(response: Response, status: number, sent?: string): Promise<void> {
  const body = await response.text();
  expect({ status: response.status, body }).toMatchObject({ status });
  expect(body).not.toMatch(/\sat\s|Error|stack/);
  const cookies = response.headers.getSetCookie().map((setCookie) => cookieHeader([setCookie]));
  expect(cookies.filter((cookie) => cookie !== sent)).toEqual([]);
  // A refresh of the token sent that went out anyway (Next's proxy) carries a cookie: private, no-store then.
  expect(response.headers.get("Cache-Control")).toBe(cookies.length > 0 ? "private, no-store" : "no-store");
  expect(response.headers.get("Vary")).toMatch(/\bCookie\b/);
}

/**
 * B6: the statuses every adapter answers the session's own errors with, from the one mapping in
 * the core (`sessionErrorResponse`): 503 store unavailable, 401 session interrupted (revoked,
 * destroyed or unreadable), 413 too large at commit. Each adapter's harness feeds this scenario.
 */
export function sessionErrorContract(serve: ServeScenario): void {
  const servers: ScenarioServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });
  const start = async (sessions: ContractSessions, pause: () => Promise<void> = async () => {}) => {
    const server = await serve(sessions, pause);
    servers.push(server);
    return server;
  };
  const login = async (server: ScenarioServer) => {
    const response = await server.request("/login");
    expect(response.status, await response.clone().text()).toBe(200);
    return cookieHeader(response.headers.getSetCookie());
  };

  it("B6: a store outage in the load or the save is a 503: no stack, no Set-Cookie, no-store", async () => {
    const { sessions, cookie } = await closedStore(contractSchema);
    const server = await start(sessions);
    await expectSessionError(await server.request("/me", cookie), 503);
    await expectSessionError(await server.request("/login"), 503);
  });

  for (const [how, end] of [
    ["revoked", (sessions: ContractSessions) => sessions.revoke({ where: { userId: "u1" } })],
    ["destroyed", (sessions: ContractSessions, cookie: string) => sessions.destroy(cookie.slice(cookie.indexOf("=") + 1))],
  ] as const) {
    it(`B6: a write after the session was ${how} elsewhere is a 401: no stack, no Set-Cookie, and it stays gone`, async () => {
      const sessions = defineSession({ schema: contractSchema, store: memoryStore() });
      const pause = createPause();
      const server = await start(sessions, pause.wait);
      const cookie = await login(server);
      const paused = server.request("/pause", cookie);
      await pause.reached; // the request holds the loaded session; its write is not committed yet
      await end(sessions, cookie);
      pause.release();
      await expectSessionError(await paused, 401, cookie);
      expect((await sessions.load(cookie)).isNew).toBe(true);
      expect(await sessions.findMany({ where: { userId: "u1" } })).toEqual([]);
    });
  }

  it("B6: rotate() in the handler after the session was revoked elsewhere is a 401 too, not the app's error page", async () => {
    // A refresh due on every request (touchAfter 0): an answer that went through the commit would clear the cookie.
    const sessions = defineSession({ schema: contractSchema, store: memoryStore(), rolling: true, touchAfter: 0 });
    const pause = createPause();
    const server = await start(sessions, pause.wait);
    const cookie = await login(server);
    const paused = server.request("/pause-rotate", cookie);
    await pause.reached;
    await sessions.revoke({ where: { userId: "u1" } });
    pause.release();
    await expectSessionError(await paused, 401, cookie);
    expect((await sessions.load(cookie)).isNew).toBe(true);
    expect(await sessions.findMany({ where: { userId: "u1" } })).toEqual([]);
  });

  it("B6: a commit the store refuses for maxBytes (another request grew the record meanwhile) is a 413, nothing written", async () => {
    const sessions = defineSession({ schema: contractSchema, store: memoryStore(), maxBytes: 400 });
    const pause = createPause();
    const server = await start(sessions, pause.wait);
    const cookie = await login(server);
    const paused = server.request("/pause", cookie); // loaded small; its cart fits the limit it sees
    await pause.reached;
    const other = await sessions.load(cookie);
    for (let length = 400; ; length -= 8) {
      try {
        other.set("userId", "x".repeat(length)); // the longest that fits: less room left than the cart needs
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(SessionTooLargeError);
      }
    }
    await other.commit();
    pause.release();
    await expectSessionError(await paused, 413, cookie);
    expect((await sessions.load(cookie)).get("cart")).toEqual([]);
  });

  it("B6: SessionCorruptError at commit (an unreadable record) is a 401 like an interrupted session", async () => {
    const { store, arm } = patchFails(() => new SessionCorruptError("unreadable record"));
    const sessions = defineSession({ schema: contractSchema, store });
    const server = await start(sessions);
    const cookie = await login(server);
    arm();
    await expectSessionError(await server.request("/pause", cookie), 401, cookie);
  });

  it("12.2: a session cookie under the app's `public, max-age=600` goes out with `private, no-store` and Vary: Cookie", async () => {
    const sessions = defineSession({ schema: contractSchema, store: memoryStore() });
    const server = await start(sessions);
    const response = await server.request("/cached-login", undefined, { method: "POST" });
    expect(response.status, await response.clone().text()).toBe(200);
    const cookie = cookieHeader(response.headers.getSetCookie());
    expect(response.headers.getSetCookie()).toHaveLength(1);
    expect(response.headers.get("Cache-Control")).toBe("private, no-store");
    expect(response.headers.get("Vary")).toMatch(/\bCookie\b/);
    expect((await sessions.load(cookie)).get("userId")).toBe("u1");
  });

  it("12.9: a write followed by an app error commits nothing: a 500, no Set-Cookie, the stored user unchanged", async () => {
    const sessions = defineSession({ schema: contractSchema, store: memoryStore() });
    const server = await start(sessions);
    const cookie = await login(server);
    const failed = await server.request("/write-throw", cookie, { method: "POST" });
    expect(failed.status).toBe(500);
    expect(failed.headers.getSetCookie()).toEqual([]);
    expect((await sessions.load(cookie)).get("userId")).toBe("u1");
    // A first visit: the new session is neither stored nor sent.
    const fresh = await server.request("/write-throw", undefined, { method: "POST" });
    expect(fresh.status).toBe(500);
    expect(fresh.headers.getSetCookie()).toEqual([]);
    expect(await sessions.findMany({ where: { userId: "admin" } })).toEqual([]);
  });

  it.each([
    ["Sec-Fetch-Site: cross-site", { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" }],
    [
      "Sec-Fetch-Site: same-site (a sibling subdomain)",
      { Origin: "http://evil.127.0.0.1.nip.io", "Sec-Fetch-Site": "same-site" },
    ],
    ["a foreign Origin, no Sec-Fetch-Site (an older browser)", { Origin: "https://evil.example" }],
    ["Origin: null, no Sec-Fetch-Site", { Origin: "null" }],
  ])("12.4: a POST with %s is a 403 before the session loads: nothing read or stored, no Set-Cookie", async (_, headers) => {
    const counted = countingStore(memoryStore());
    const sessions = defineSession({ schema: contractSchema, store: counted.store });
    const server = await start(sessions);
    const cookie = await login(server);
    counted.reset();
    for (const path of ["/pause", "/login"] as const) {
      const refused = await server.request(path, cookie, { method: "POST", headers });
      await expectSessionError(refused, 403);
      const first = await server.request(path, undefined, { method: "POST", headers }); // no cookie: no session created
      await expectSessionError(first, 403);
    }
    expect({ get: counted.calls.get, writes: writes(counted.calls) }).toEqual({ get: 0, writes: 0 });
    expect((await sessions.load(cookie)).get("cart")).toEqual([]);
    expect(await sessions.findMany({ where: { userId: "u1" } })).toHaveLength(1);
    // A safe method is never refused: the same headers on a GET read the session.
    const read = await server.request("/me", cookie, { headers });
    expect(read.status).toBe(200);
    expect(await read.json()).toMatchObject({ userId: "u1" });
  });

  it("12.4: a same-origin POST passes: Origin equal to the host, Sec-Fetch-Site: same-origin, or no Origin at all", async () => {
    const sessions = defineSession({ schema: contractSchema, store: memoryStore() });
    const server = await start(sessions);
    expect(server.origin, "the harness gives its origin").toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const origin = server.origin as string;
    for (const headers of [{ Origin: origin }, { Origin: origin, "Sec-Fetch-Site": "same-origin" }, {}]) {
      const response = await server.request("/login", undefined, { method: "POST", headers });
      expect(response.status, JSON.stringify(headers)).toBe(200);
      expect((await sessions.load(cookieHeader(response.headers.getSetCookie()))).get("userId")).toBe("u1");
    }
  });
}
