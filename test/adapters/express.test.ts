import { Readable } from "node:stream";
import express5, { type ErrorRequestHandler, type Express, type RequestHandler } from "express";
import express4 from "express4";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession, type SessionRequest, sessionHandler } from "../../src/adapters/express.js";
import { defineSession, SessionConfigError, type SessionManager, SessionUsageError } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { listenNode as listen } from "../helpers/listen.js";
import { rawRequest } from "../helpers/raw-http.js";
import {
  adapterContract,
  closedStore,
  httpRequest,
  type ServeScenario,
  contractSchema as schema,
  sessionErrorContract,
} from "./adapter-contract.js";
import {
  crossSiteStatus,
  expectCsrfOptions,
  expectOnStoreErrorAnswer,
  expectRawCrossSiteRefused,
  httpClient,
  rawPost,
  storeDownTests,
  withServer,
} from "./harness.js";

/** Every test below runs on both majors (issue 12.6): Express 4 does not catch a rejected handler. */
const majors = [
  ["Express 5", express5],
  ["Express 4", express4],
] as const;

type Schema = typeof schema;

/** `res.writableEnded` right after `/probe`'s `res.json`. */
const probes: boolean[] = [];

/** The app under test on `express` (4 or 5); `errors` collects what reached the error handler. */
function app(express: typeof express5, sessions: SessionManager<Schema>, errors: unknown[] = []) {
  const route = (handler: Parameters<typeof sessionHandler<Schema>>[1]) => sessionHandler(sessions, handler);
  const recordErrors: ErrorRequestHandler = (error, _req, res, _next) => {
    errors.push(error);
    if (res.headersSent) res.end();
    else res.status((error as { status?: number }).status ?? 500).json({ error: "failed" });
  };
  // A middleware mounted after expressSession that wraps the response, as compression does.
  const upper: RequestHandler = (_req, res, next) => {
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
    .get("/plain-boom", (req) => {
      // Not wrapped in sessionHandler: the adapter sees only the error handler's 500.
      (req as SessionRequest<SessionManager<Schema>>).session.set("userId", "u4");
      throw new Error("boom");
    })
    .get(
      "/async-boom",
      route(async (req) => {
        req.session.set("userId", "u5");
        await Promise.resolve();
        throw new Error("boom");
      }),
    )
    .get(
      "/caught",
      route((req, _res, next) => {
        req.session.set("userId", "u6");
        next(Object.assign(new Error("not found"), { status: 404 })); // the app's own 4xx, through next(err)
      }),
    )
    .get("/plain-caught", (req, _res, next) => {
      (req as SessionRequest<SessionManager<Schema>>).session.set("userId", "u8");
      next(Object.assign(new Error("not found"), { status: 404 }));
    })
    .get(
      "/set-after",
      route((req, res) => {
        req.session.set("userId", "u7");
        res.set("Cache-Control", "public, max-age=600"); // after the middleware ran, before the response
        res.setHeader("Cache-Control", "public, s-maxage=31536000");
        res.json({ ok: true });
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

describe.each(majors)("%s", (_major, express) => {
  describe("tesserae/express expressSession over HTTP", () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const errors: unknown[] = [];
    let server: Awaited<ReturnType<typeof listen>>;
    const { get, login, expectUncommitted, expectFailsUncommitted } = httpClient(() => server.url);
    const userOf = async (response: Response) =>
      ((await (await get("/me", cookieHeader(response.headers.getSetCookie()))).json()) as { userId: string | null }).userId;
    beforeAll(async () => {
      server = await listen(app(express, sessions, errors));
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

    it("12.9: a sessionHandler that throws (sync or async) commits nothing: the error handler's 500 has no Set-Cookie", async () => {
      const cookie = await login();
      for (const path of ["/boom", "/async-boom"]) {
        const response = await get(path, cookie);
        expect(response.status).toBe(500);
        expect(response.headers.get("Vary")).toBe("Cookie");
        await expectUncommitted(response, cookie);
        expect((await get(path)).headers.getSetCookie()).toEqual([]); // a first visit is not stored either
      }
    });

    it("12.9: a plain handler's error answered 500 commits nothing (the status at commit time)", async () => {
      await expectFailsUncommitted("/plain-boom", 500);
    });

    it("12.9: next(err) from a sessionHandler commits nothing even when the app's error handler answers 4xx", async () => {
      await expectFailsUncommitted("/caught", 404);
    });

    it("12.9 (the limit, docs/adapters.md): a plain handler's next(err) answered below 500 is not seen, and commits", async () => {
      const cookie = await login();
      const response = await get("/plain-caught", cookie);
      expect(response.status).toBe(404);
      expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u8" });
    });

    it("12.2: Cache-Control set by the handler (res.set, res.setHeader) is replaced by private, no-store with the cookie", async () => {
      const response = await get("/set-after");
      expect(response.headers.get("Cache-Control")).toBe("private, no-store");
      expect(response.headers.getSetCookie()).toHaveLength(1);
      expect(response.headers.get("Vary")).toBe("Cookie");
    });

    it("R20: a change after the handler flushed headers takes the error path with SessionUsageError (SESSION_USAGE)", async () => {
      errors.length = 0;
      const response = await get("/late-write");
      expect(await response.text()).toBe("partial");
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(SessionUsageError);
      expect((errors[0] as SessionUsageError).code).toBe("SESSION_USAGE");
    });

    it("R20: rotate() after res.json() rejects with SESSION_USAGE and leaves the session as it was", async () => {
      errors.length = 0;
      const cookie = await login();
      const response = await get("/late-rotate", cookie);
      expect(await response.json()).toEqual({ ok: true });
      expect((errors[0] as SessionUsageError).code).toBe("SESSION_USAGE");
      await expectUncommitted(response, cookie);
    });

    it("B6: SessionInterruptedError at commit is answered 401 by the middleware, never reaching the app's error handler", async () => {
      errors.length = 0;
      const response = await get("/revoked", await login());
      expect(response.status).toBe(401);
      expect(await response.text()).toBe("Unauthorized");
      expect(response.headers.get("Content-Type")).toMatch(/^text\/plain/); // res.json's type went with its body
      expect(errors).toEqual([]);
    });

    it("12.4: a cross-site POST is a 403 before the session loads; csrf: false and trustedOrigins open it", async () => {
      await expectCsrfOptions(
        { secFetchSite: "cross-site", refusedTrustedOrigin: "http://admin.example" },
        async (counting, options) => {
          const other = await listen(
            express()
              .use(expressSession(counting, options))
              .post(
                "/login",
                sessionHandler(counting, (req, res) => res.json({ userId: req.session.set("userId", "u2") ?? "u2" })),
              ),
          );
          return { post: (headers) => fetch(`${other.url}/login`, { method: "POST", headers }), close: other.close };
        },
      );
      expect(() => expressSession(sessions, { csrf: { trustedOrigins: ["https://admin.example/"] } })).toThrow(
        SessionConfigError,
      );
    });

    it("12.4: HEAD and OPTIONS from another site pass; PUT, DELETE and an unusual method are checked", async () => {
      expect(await crossSiteStatus(server.url, "HEAD")).toBe(200);
      expect(await crossSiteStatus(server.url, "OPTIONS")).toBe(200);
      for (const method of ["PUT", "DELETE", "PROPFIND"]) {
        expect(await crossSiteStatus(server.url, method), method).toBe(403);
      }
    });

    it("12.4 attacked: duplicate, huge, NUL and mixed-case headers over raw HTTP; a token cookie does not help", async () => {
      const host = new URL(server.url).host;
      const post = rawPost(server.url);
      // Passing the check, a POST to /me is Express's 404; refused, a 403.
      await expectRawCrossSiteRefused(server.url);
      const { port } = new URL(server.url);
      const at = (hostHeaders: string[], origin: string) =>
        rawRequest(server.url, "POST /me HTTP/1.1", [...hostHeaders, `Origin: ${origin}`]);
      expect((await at([`Host: LocalHost:${port}`], `http://localhost:${port}`)).status).toBe(404); // host names ignore case
      // Node keeps the first of two Host headers: a second one naming the attacker's origin does not help.
      expect((await at([`Host: ${host}`, "Host: evil.example"], "http://evil.example")).status).toBe(403);
      expect((await post("Origin: https://evil.example", `Origin: ${server.url}`)).status).toBe(403);
      expect((await post(`Origin: http://${"a".repeat(20 * 1024)}.example`)).status).toBe(431); // Node's limit, before us
      expect((await post(`Origin: ${server.url}\u0000`)).status).toBe(400); // Node's parser refuses NUL
      const cookie = await login();
      const withToken = await post(`Cookie: ${cookie}`, "Origin: https://evil.example", "Sec-Fetch-Site: cross-site");
      expect(withToken.status).toBe(403);
      expect(withToken.text).not.toMatch(/set-cookie/i);
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
      await withServer(listen(bare), async (url) => {
        await fetch(`${url}/missing`);
        await fetch(`${url}/twice`);
      });
      expect(seen.map((error) => (error as SessionConfigError).code)).toEqual(["CONFIG", "CONFIG"]);
    });
  });

  describe("tesserae/express: no rejection escapes the middleware (issue 12.6)", () => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    beforeAll(() => {
      process.on("unhandledRejection", onRejection);
    });
    afterAll(() => {
      process.off("unhandledRejection", onRejection);
    });
    afterEach(() => {
      rejections.length = 0;
    });

    /**
     * `path` on `app` answers (whatever the status) and no rejection went unhandled meanwhile. On
     * Express 4 an escaped rejection leaves the client without an answer: the race ends on the
     * rejection instead of waiting for a response that never comes.
     */
    async function answersWithoutRejection(target: Express, path: string, cookie?: string): Promise<Response> {
      const server = await listen(target);
      try {
        const rejected = new Promise<never>((_resolve, reject) => {
          process.once("unhandledRejection", (reason) => reject(new Error(`unhandledRejection: ${String(reason)}`)));
        });
        const response = await Promise.race([
          fetch(server.url + path, { headers: cookie === undefined ? {} : { Cookie: cookie } }),
          rejected,
        ]);
        await response.text();
        await new Promise((resolve) => setImmediate(resolve)); // a rejection would be reported by now
        expect(rejections).toEqual([]);
        return response;
      } finally {
        await server.close();
      }
    }
    const failing: ErrorRequestHandler = (error, _req, res, _next) => {
      res.status(500).json({ code: (error as { code?: string }).code ?? "other" });
    };

    it("a rejected load (onInvalid: throw) goes to next(err): the client gets the error handler's answer", async () => {
      const store = memoryStore();
      const before = defineSession({ schema, store });
      const session = await before.load(undefined);
      session.set("userId", "u1");
      const cookie = cookieHeader(await session.commit());
      const strict = defineSession({ schema: z.object({ userId: z.number() }), store, onInvalid: "throw" });
      const target = express()
        .use(expressSession(strict))
        .get("/", (_req, res) => res.send("never"))
        .use(failing);
      const response = await answersWithoutRejection(target, "/", cookie);
      expect(response.status).toBe(500);
      expect(response.headers.getSetCookie()).toEqual([]);
    });

    it("a double mount goes to next(err) with SessionConfigError", async () => {
      const sessions = defineSession({ schema, store: memoryStore() });
      const target = express()
        .use(expressSession(sessions), expressSession(sessions))
        .get("/", (_req, res) => res.send("never"))
        .use(failing);
      const response = await answersWithoutRejection(target, "/");
      expect(response.status).toBe(500);
    });

    it("onStoreError that throws (at load and at commit) goes to next(err)", async () => {
      const { sessions, cookie } = await closedStore(schema);
      const target = express()
        .use(
          expressSession(sessions, {
            onStoreError: () => {
              throw new Error("onStoreError failed");
            },
          }),
        )
        .get(
          "/login",
          sessionHandler(sessions, (req, res) => res.json({ ok: req.session.set("userId", "u1") ?? true })),
        )
        .use(failing);
      expect((await answersWithoutRejection(target, "/login", cookie)).status).toBe(500); // the load fails
      expect((await answersWithoutRejection(target, "/login")).status).toBe(500); // the save fails
    });

    it("a sessionHandler whose handler rejects, and one mounted without expressSession, go to next(err)", async () => {
      const sessions = defineSession({ schema, store: memoryStore() });
      const target = express()
        .get(
          "/missing",
          sessionHandler(sessions, (_req, res) => res.json({})),
        )
        .use(expressSession(sessions))
        .get(
          "/rejects",
          sessionHandler(sessions, async () => Promise.reject(new Error("handler failed"))),
        )
        .use(failing);
      expect(await (await answersWithoutRejection(target, "/missing")).status).toBe(500);
      expect(await (await answersWithoutRejection(target, "/rejects")).status).toBe(500);
    });
  });

  describe("tesserae/express when the store is down", () => {
    const down = storeDownTests(
      (sessions) => listen(app(express, sessions)),
      async (url) => {
        const response = await fetch(`${url}/login`); // res.json was called: its body is discarded
        expect(response.headers.get("Content-Type")).toMatch(/^text\/plain/);
      },
    );

    it("onStoreError replaces the default 503", async () => {
      const { sessions, cookie } = down();
      const custom = express()
        .use(expressSession(sessions, { onStoreError: (error, _req, res) => res.status(503).json({ code: error.code }) }))
        .get("/", (_req, res) => res.send("never"));
      await withServer(listen(custom), async (url) => {
        await expectOnStoreErrorAnswer(await fetch(`${url}/`, { headers: { Cookie: cookie } }));
      });
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
      .all(
        "/login",
        route((req, res) => res.json({ ok: req.session.set("userId", "u1") ?? true })),
      )
      .all(
        "/cached-login",
        route((req, res) => {
          req.session.set("userId", "u1");
          res.set("Cache-Control", "public, max-age=600").json({ ok: true });
        }),
      )
      .all(
        "/write-throw",
        route((req) => {
          req.session.set("userId", "admin");
          throw new Error("check failed");
        }),
      )
      .all(
        "/pause",
        route(async (req, res) => {
          req.session.set("cart", [{ sku: "p", qty: 1 }]);
          await pause();
          res.json({ ok: true });
        }),
      )
      .all(
        "/pause-rotate",
        route(async (req, res) => {
          await pause();
          await req.session.rotate();
          res.json({ ok: true });
        }),
      )
      .all(
        "/me",
        route((req, res) => res.json({ userId: req.session.get("userId") ?? null })),
      );
    const server = await listen(scenario);
    return { request: httpRequest(server.url), origin: server.url, close: server.close };
  };

  describe("tesserae/express: the shared session-error scenario", () => sessionErrorContract(serveScenario));
});
