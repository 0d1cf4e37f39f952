import type { Server } from "node:http";
import { Readable } from "node:stream";
import express, { type ErrorRequestHandler } from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession, sessionHandler } from "../../src/adapters/express.js";
import { defineSession, SessionConfigError, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import {
  adapterContract,
  closedStore,
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

/** Serves an Express app over real HTTP on 127.0.0.1 with an ephemeral port. */
async function listen(app: express.Express) {
  return new Promise<{ url: string; close(): Promise<void> }>((resolve) => {
    const server: Server = app.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      const close = () => new Promise<void>((done) => server.close(() => done()) && server.closeAllConnections());
      resolve({ url: `http://127.0.0.1:${port}`, close });
    });
  });
}

/** `res.writableEnded` right after `/probe`'s `res.json`. */
const probes: boolean[] = [];

/** The app under test; `errors` collects what reached the error handler. */
function app(sessions: SessionManager<Schema>, errors: unknown[] = []) {
  const route = (handler: Parameters<typeof sessionHandler<Schema>>[1]) => sessionHandler(sessions, handler);
  const recordErrors: ErrorRequestHandler = (error, _req, res, _next) => {
    errors.push(error);
    if (res.headersSent) res.end();
    else res.status(500).json({ error: "failed" });
  };
  // A middleware mounted after expressSession that wraps the response, as compression does.
  const upper: express.RequestHandler = (_req, res, next) => {
    const { write, end } = res;
    const up = (chunk: unknown) => (typeof chunk === "string" ? chunk.toUpperCase() : chunk);
    Object.assign(res, {
      write: (chunk: unknown, ...rest: unknown[]) => Reflect.apply(write, res, [up(chunk), ...rest]),
      end: (chunk: unknown, ...rest: unknown[]) => Reflect.apply(end, res, [up(chunk), ...rest]),
    });
    next();
  };
  return express()
    .use(expressSession(sessions))
    .get(
      "/login",
      route((req, res) => res.json(req.session.set("userId", "u1") ?? { ok: true })),
    )
    .get(
      "/cart",
      route((req, res) => res.status(204).end(req.session.set("cart", [{ sku: "a", qty: 2 }]))),
    )
    .get(
      "/rotate",
      route(async (req, res) => res.status(204).end(await req.session.rotate())),
    )
    .get(
      "/logout",
      route(async (req, res) => res.status(204).end(await req.session.destroy())),
    )
    .get(
      "/redirect",
      route((req, res) => res.redirect(303, `/me?${req.session.set("userId", "u2")}`)),
    )
    .get(
      "/stream",
      route((req, res) => {
        req.session.set("userId", "streamed");
        res.write("a");
        res.write("b");
        res.end("c");
      }),
    )
    .get(
      "/wrapped",
      upper,
      route(async (req, res) => {
        req.session.set("userId", "wrapped");
        res.write("a");
        await new Promise((resolve) => setTimeout(resolve, 20));
        res.write("b");
        res.end("c");
      }),
    )
    .get(
      "/pipe",
      route((req, res) => {
        req.session.set("userId", "piped");
        Readable.from(Array.from({ length: 256 }, (_, i) => `${String(i).padStart(4, "0")}${"x".repeat(1020)}`)).pipe(res);
      }),
    )
    .get(
      "/flush",
      route((req, res) => {
        req.session.set("userId", "flushed");
        res.flushHeaders();
        res.end("f");
      }),
    )
    .get(
      "/write-head",
      route((req, res) => {
        req.session.set("userId", "head");
        res.writeHead(200, "Fine", {
          "Content-Type": "text/plain",
          Vary: "Accept-Encoding",
          "Cache-Control": "public, max-age=60",
        });
        res.end("h");
      }),
    )
    .get(
      "/vary",
      route((_req, res) => res.set({ Vary: "Accept-Encoding", "Cache-Control": "private" }).send("v")),
    )
    .get(
      "/boom",
      route((req) => {
        req.session.set("userId", "u3");
        throw new Error("boom");
      }),
    )
    .get(
      "/late-write",
      route((req, res) => {
        res.write("partial");
        req.session.set("userId", "late"); // the response has started: throws, and Express takes the error path
      }),
    )
    .get(
      "/late-rotate",
      route(async (req, res) => {
        res.json({ ok: true });
        await req.session.rotate();
      }),
    )
    .get(
      "/revoked",
      route(async (req, res) => {
        await sessions.revoke({ where: { userId: "u1" } }); // another device logs everyone out meanwhile
        req.session.set("cart", []);
        res.json({ ok: true });
      }),
    )
    .get("/bare", (_req, res) => res.json({ ok: true }))
    .get(
      "/me",
      route((req, res) => res.json({ userId: req.session.get("userId") ?? null, cart: req.session.get("cart") })),
    )
    .get(
      "/probe",
      route((req, res) => {
        if (req.query.write === "1") req.session.set("cart", []);
        res.json({ userId: req.session.get("userId") ?? null });
        // Whether the body went out at once (no commit to wait for) or is held until the commit ends.
        probes.push(res.writableEnded);
      }),
    )
    .use(recordErrors);
}

describe("tessera/express expressSession over HTTP", () => {
  const sessions = defineSession({ schema, store: memoryStore() });
  const errors: unknown[] = [];
  let server: Awaited<ReturnType<typeof listen>>;
  const get = (path: string, cookie?: string) =>
    fetch(server.url + path, { redirect: "manual", headers: cookie === undefined ? {} : { Cookie: cookie } });
  const login = async () => cookieHeader((await get("/login")).headers.getSetCookie());
  const userOf = async (response: Response) =>
    ((await (await get("/me", cookieHeader(response.headers.getSetCookie()))).json()) as { userId: string | null }).userId;
  beforeAll(async () => {
    server = await listen(app(sessions, errors));
  });
  afterAll(() => server.close());

  describe("the shared adapter scenario", () => adapterContract(() => server.url));

  it("a request whose commit has nothing to do is sent at once; one that writes waits for its commit", async () => {
    const cookie = await login();
    probes.length = 0;
    const read = await get("/probe", cookie);
    expect(read.headers.get("Vary")).toBe("Cookie");
    expect(read.headers.getSetCookie()).toEqual([]);
    const fresh = await get("/probe");
    expect(fresh.headers.get("Vary")).toBe("Cookie");
    const write = await get("/probe?write=1", cookie);
    expect(await write.json()).toEqual({ userId: "u1" });
    const created = await get("/probe?write=1");
    expect(created.headers.getSetCookie()).toHaveLength(1);
    expect(probes).toEqual([true, true, false, false]);
  });

  it("the cookie is set on res.redirect", async () => {
    const response = await get("/redirect");
    expect(response.status).toBe(303);
    expect(await userOf(response)).toBe("u2");
  });

  it("the cookie is set on a streamed response (res.write … res.end) and the body arrives whole", async () => {
    const response = await get("/stream");
    expect(response.headers.get("Cache-Control")).toBe("private, no-store");
    expect(await response.text()).toBe("abc");
    expect(await userOf(response)).toBe("streamed");
  });

  it("a wrapper mounted after expressSession (as compression) still sees writes made after the commit", async () => {
    const response = await get("/wrapped");
    expect(await response.text()).toBe("ABC");
    expect(await userOf(response)).toBe("wrapped");
  });

  it("the cookie is set on a piped stream (held writes apply backpressure, then drain), 256 KiB intact", async () => {
    const response = await get("/pipe");
    const body = await response.text();
    expect(body.length).toBe(256 * 1024);
    expect(body.slice(1024, 1028)).toBe("0001");
    expect(body.slice(-1024, -1020)).toBe("0255");
    expect(await userOf(response)).toBe("piped");
  });

  it("the cookie is set on res.flushHeaders() and on res.writeHead(status, reason, headers), whose headers merge", async () => {
    const flushed = await get("/flush");
    expect(await flushed.text()).toBe("f");
    expect(await userOf(flushed)).toBe("flushed");
    const head = await get("/write-head");
    expect(head.statusText).toBe("Fine");
    expect(head.headers.get("Vary")).toBe("Accept-Encoding, Cookie");
    expect(head.headers.get("Cache-Control")).toBe("private, no-store");
    expect(await head.text()).toBe("h");
    expect(await userOf(head)).toBe("head");
  });

  it("the cookie is set on an error response written by the error handler", async () => {
    const response = await get("/boom");
    expect(response.status).toBe(500);
    expect(await userOf(response)).toBe("u3");
  });

  it("R20: a change after the handler flushed headers takes the error path with SessionConfigError (CONFIG)", async () => {
    errors.length = 0;
    const response = await get("/late-write");
    expect(await response.text()).toBe("partial");
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SessionConfigError);
    expect((errors[0] as SessionConfigError).code).toBe("CONFIG");
  });

  it("R20: rotate() after res.json() rejects with CONFIG and leaves the session as it was", async () => {
    errors.length = 0;
    const cookie = await login();
    const response = await get("/late-rotate", cookie);
    expect(await response.json()).toEqual({ ok: true });
    expect(response.headers.getSetCookie()).toEqual([]);
    expect((errors[0] as SessionConfigError).code).toBe("CONFIG");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u1" });
  });

  it("B6: SessionInterruptedError at commit is answered 401 by the middleware, never reaching the app's error handler", async () => {
    errors.length = 0;
    const response = await get("/revoked", await login());
    expect(response.status).toBe(401);
    expect(await response.text()).toBe("Unauthorized");
    expect(response.headers.get("Content-Type")).toMatch(/^text\/plain/); // res.json's type went with its body
    expect(errors).toEqual([]);
  });

  it("convention 10: bad arguments fail at creation; a missing or doubled middleware is a CONFIG error", async () => {
    expect(() => expressSession({} as never)).toThrow(SessionConfigError);
    expect(() => expressSession(sessions, { onStoreError: "503" as never })).toThrow(SessionConfigError);
    const seen: unknown[] = [];
    const bare = express()
      .get(
        "/missing",
        sessionHandler(sessions, (_req, res) => res.json({})),
      )
      .use(expressSession(sessions), expressSession(sessions))
      .get("/twice", (_req, res) => res.json({}))
      .use(((error, _req, res, _next) => res.status(500).json(seen.push(error))) as ErrorRequestHandler);
    const other = await listen(bare);
    try {
      await fetch(`${other.url}/missing`);
      await fetch(`${other.url}/twice`);
    } finally {
      await other.close();
    }
    expect(seen.map((error) => (error as SessionConfigError).code)).toEqual(["CONFIG", "CONFIG"]);
  });
});

describe("tessera/express when the store is down", () => {
  let sessions: SessionManager<Schema>;
  let cookie: string;
  beforeAll(async () => {
    ({ sessions, cookie } = await closedStore(schema));
  });

  it("R48/R49: a failed load or save gives a 503 with no stack trace and no Set-Cookie", async () => {
    const server = await listen(app(sessions));
    try {
      await expectStoreDown(server.url, cookie);
      const response = await fetch(`${server.url}/login`); // res.json was called: its body is discarded
      expect(response.headers.get("Content-Type")).toMatch(/^text\/plain/);
    } finally {
      await server.close();
    }
  });

  it("onStoreError replaces the default 503", async () => {
    const custom = express()
      .use(expressSession(sessions, { onStoreError: (error, _req, res) => res.status(503).json({ code: error.code }) }))
      .get("/", (_req, res) => res.send("never"));
    const server = await listen(custom);
    try {
      const response = await fetch(`${server.url}/`, { headers: { Cookie: cookie } });
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ code: "STORE_UNAVAILABLE" });
      expect(response.headers.get("Vary")).toBe("Cookie");
    } finally {
      await server.close();
    }
  });
});

/**
 * The error scenario's app in Express's development mode with its default error handler (which
 * writes the error's stack into the body): what `NODE_ENV=development` or no NODE_ENV gives.
 */
const serveScenario: ServeScenario = async (sessions, pause) => {
  const route = (handler: Parameters<typeof sessionHandler<Schema>>[1]) => sessionHandler(sessions, handler);
  const scenario = express()
    .set("env", "development")
    .use(expressSession(sessions))
    .get(
      "/login",
      route((req, res) => res.json({ ok: req.session.set("userId", "u1") ?? true })),
    )
    .get(
      "/pause",
      route(async (req, res) => {
        req.session.set("cart", [{ sku: "p", qty: 1 }]);
        await pause();
        res.json({ ok: true });
      }),
    )
    .get(
      "/pause-rotate",
      route(async (req, res) => {
        await pause();
        await req.session.rotate();
        res.json({ ok: true });
      }),
    )
    .get(
      "/me",
      route((req, res) => res.json({ userId: req.session.get("userId") ?? null })),
    );
  const server = await listen(scenario);
  return { request: httpRequest(server.url), close: server.close };
};

describe("tessera/express: the shared session-error scenario", () => sessionErrorContract(serveScenario));
