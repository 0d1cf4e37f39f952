import { Hono } from "hono";
import { stream } from "hono/streaming";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { honoSession } from "../../src/adapters/hono.js";
import { defineSession, SessionConfigError, type SessionManager } from "../../src/index.js";
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

/** The app under test; `late` collects what a change after the response threw. */
function app(sessions: SessionManager<Schema>, late: unknown[] = []) {
  return new Hono()
    .use(honoSession(sessions))
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

describe("tessera/hono honoSession over HTTP", () => {
  const sessions = defineSession({ schema, store: memoryStore() });
  const late: unknown[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  const get = (path: string, cookie?: string) =>
    fetch(server.url + path, { redirect: "manual", headers: cookie === undefined ? {} : { Cookie: cookie } });
  const login = async () => cookieHeader((await get("/login")).headers.getSetCookie());
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

  it("an error response from app.onError is committed too (the changes and the cookie go out with it)", async () => {
    const response = await get("/boom");
    expect(response.status).toBe(500);
    expect(await (await get("/me", cookieHeader(response.headers.getSetCookie()))).json()).toMatchObject({ userId: "u3" });
  });

  it("R20: a change from a stream after the response was returned throws SessionConfigError", async () => {
    const cookie = await login();
    const response = await get("/stream", cookie);
    expect(await response.text()).toBe("ab");
    expect(late).toHaveLength(1);
    expect(late[0]).toBeInstanceOf(SessionConfigError);
    expect((late[0] as SessionConfigError).code).toBe("CONFIG");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u1" });
  });

  it("convention 10: bad arguments fail at creation with SessionConfigError", () => {
    expect(() => honoSession({} as never)).toThrow(SessionConfigError);
    expect(() => honoSession(sessions, { onStoreError: "503" as never })).toThrow(SessionConfigError);
  });
});

describe("tessera/hono when the store is down", () => {
  let sessions: SessionManager<Schema>;
  let cookie: string;
  beforeAll(async () => {
    ({ sessions, cookie } = await closedStore(schema));
  });

  it("R48/R49: a failed load or save gives a 503 with no stack trace and no Set-Cookie", async () => {
    const server = await listen(app(sessions).fetch);
    try {
      await expectStoreDown(server.url, cookie);
    } finally {
      await server.close();
    }
  });

  it("onStoreError replaces the default 503", async () => {
    const custom = new Hono()
      .use(honoSession(sessions, { onStoreError: (error, c) => c.json({ code: error.code }, 503) }))
      .get("/", (c) => c.text("never"));
    const response = await custom.request("/", { headers: { Cookie: cookie } });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ code: "STORE_UNAVAILABLE" });
    expect(response.headers.get("Vary")).toBe("Cookie");
  });
});

/** The error scenario's app; its `onError` answers as a development error page does (with the stack). */
const serveScenario: ServeScenario = async (sessions, pause) => {
  const scenario = new Hono()
    .use(honoSession(sessions))
    .get("/login", (c) => c.json({ ok: c.get("session").set("userId", "u1") ?? true }))
    .get("/pause", async (c) => {
      c.get("session").set("cart", [{ sku: "p", qty: 1 }]);
      await pause();
      return c.json({ ok: true });
    })
    .get("/pause-rotate", async (c) => {
      await pause();
      await c.get("session").rotate();
      return c.json({ ok: true });
    })
    .get("/me", (c) => c.json({ userId: c.get("session").get("userId") ?? null }))
    .onError((error) => devErrorPage(error));
  const server = await listen(scenario.fetch);
  return { request: httpRequest(server.url), close: server.close };
};

describe("tessera/hono: the shared session-error scenario", () => sessionErrorContract(serveScenario));
