import type { Server } from "node:http";
import { initTRPC } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import express from "express";
import fc from "fast-check";
import { Hono } from "hono";
import { NextRequest } from "next/server.js";
import { beforeAll, describe, expect, it } from "vitest";
import { expressSession, sessionHandler } from "../../src/adapters/express.js";
import { withSession } from "../../src/adapters/fetch.js";
import { honoSession } from "../../src/adapters/hono.js";
import { getSession, sessionMiddleware as nextMiddleware, saveSession } from "../../src/adapters/next.js";
import { createSessionContext, sessionMiddleware as trpcMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, isTesseraError, type SessionEvent, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader as firstCookie } from "../helpers/cookies.js";
import { type ModelSchema, modelSchema } from "./arbitraries.js";
import { describeEachBackend } from "./each-backend.js";
import { cookieHeader, headerSafe, materialize } from "./fuzz-arbitraries.js";
import { check, fuzzRuns, seed } from "./replay.js";

/**
 * Issue 11 C, fuzzing cookies: random Cookie headers (random bytes, lone surrogates, NUL, 10 KB
 * and 1 MB values, a thousand duplicates, token-like values, a real token bent) through `load` on
 * every store, as a header string, a `Headers` and a cookie jar, and through every adapter. A bad
 * cookie is a fresh session (never an exception, never a 500, never someone else's data); only
 * the real token, sent as the session cookie, reaches its session.
 */

const describeError = (error: unknown) =>
  isTesseraError(error)
    ? `${error.name} (${error.code}): ${error.message}`
    : `${(error as Error)?.name}: ${(error as Error)?.message}`;

/** A stored session holding userId "victim": the cookie value that reaches it. */
async function victim(sessions: SessionManager<ModelSchema>): Promise<string> {
  const session = await sessions.load(undefined);
  session.set("userId", "victim");
  return firstCookie(await session.commit())
    .split("=")
    .slice(1)
    .join("=");
}

describeEachBackend("fuzzed cookies through load", (backendName, backend) => {
  it(`any Cookie header loads a fresh session or the session its real token names; never an exception (seed ${seed})`, async () => {
    const opened = backend();
    await opened.reset();
    const events: SessionEvent[] = [];
    const sessions = defineSession({
      schema: modelSchema,
      store: opened.store,
      ...(opened.cache === undefined ? {} : { cache: opened.cache }),
      onEvent: (event) => events.push(event),
    });
    const valid = await victim(sessions);
    await check(
      `cookie fuzz on ${backendName}`,
      fc.asyncProperty(cookieHeader, async (template) => {
        const header = materialize(template, sessions.cookieName, valid);
        const sources = [
          header,
          new Headers({ cookie: headerSafe(header) }),
          { get: (name: string) => (name === sessions.cookieName ? { value: header } : undefined) },
        ];
        for (const source of sources) {
          let session: Awaited<ReturnType<typeof sessions.load>>;
          try {
            session = await sessions.load(source);
          } catch (error) {
            throw new Error(`load threw ${describeError(error)}`);
          }
          if (!session.isNew) expect(session.get("userId"), "a cookie reached another session's data").toBe("victim");
          session.set("visits", 1);
          try {
            for (const setCookie of await session.commit()) {
              expect(setCookie, "a Set-Cookie that is not a header value").toMatch(/^[\t\x20-\x7e]*$/);
            }
          } catch (error) {
            throw new Error(`commit after a fuzzed load threw ${describeError(error)}`);
          }
        }
        if (!opened.clientSide) {
          // The token-taking entry points for tools: garbage is "no session", never an error.
          await expect(sessions.get(header)).resolves.not.toThrow();
          if (header !== valid) await expect(sessions.destroy(header)).resolves.toBe(false);
        }
        const corrupt = events.filter((event) => event.type === "corrupt");
        expect(corrupt, "a cookie made the core report corrupt data").toEqual([]);
      }),
      fuzzRuns,
    );
  }, 170_000);
});

describe("fuzzed cookies through every adapter", () => {
  const sessions = defineSession({ schema: modelSchema, store: memoryStore() });
  let valid = "";
  const headers = fc.asyncProperty;
  const property = (answer: (header: string) => Promise<{ status: number; userId: unknown }>, allowed: number[] = [200]) =>
    headers(cookieHeader, async (template) => {
      const header = headerSafe(materialize(template, sessions.cookieName, valid));
      const { status, userId } = await answer(header);
      expect(allowed, `status ${status}`).toContain(status);
      if (status === 200) expect([null, "victim"]).toContain(userId);
    });
  const read = async (response: Response) => ({
    status: response.status,
    userId: response.status === 200 ? ((await response.json()) as { userId: unknown }).userId : undefined,
  });
  /** Every route reads the session and writes to it, so the commit runs too. */
  const visit = (session: Awaited<ReturnType<typeof sessions.load>>) => {
    session.set("visits", (session.get("visits") ?? 0) + 1);
    return { userId: session.get("userId") ?? null };
  };
  beforeAll(async () => {
    valid = await victim(sessions);
  });

  it(`fetch withSession: 200 with a fresh or the named session, never a 500 (seed ${seed})`, async () => {
    const handler = withSession(sessions, async (_request, session) => Response.json(visit(session)));
    await check(
      "cookie fuzz through fetch withSession",
      property(async (header) => read(await handler(new Request("http://app.test/", { headers: { cookie: header } })))),
      fuzzRuns,
    );
  }, 120_000);

  it(`hono honoSession: 200 with a fresh or the named session, never a 500 (seed ${seed})`, async () => {
    const app = new Hono().use(honoSession(sessions)).get("/", (c) => c.json(visit(c.get("session"))));
    await check(
      "cookie fuzz through hono",
      property(async (header) => read(await app.request("/", { headers: { Cookie: header } }))),
      fuzzRuns,
    );
  }, 120_000);

  it(`express expressSession over HTTP: 200 (or Node's own 431 for a header past its limit), never a 500 (seed ${seed})`, async () => {
    const app = express()
      .use(expressSession(sessions))
      .get(
        "/",
        sessionHandler(sessions, (req, res) => {
          res.json(visit(req.session));
        }),
      );
    const server = await new Promise<Server>((resolve) => {
      const listening: Server = app.listen(0, "127.0.0.1", () => resolve(listening));
    });
    const { port } = server.address() as { port: number };
    try {
      await check(
        "cookie fuzz through express",
        property(async (header) => read(await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie: header } })), [200, 431]),
        fuzzRuns,
      );
    } finally {
      await new Promise<void>((done) => server.close(() => done()) && server.closeAllConnections());
    }
  }, 120_000);

  it(`trpc createSessionContext + sessionMiddleware: 200 with a fresh or the named session, never a 500 (seed ${seed})`, async () => {
    const createContext = createSessionContext(sessions);
    const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
    const router = t.router({ state: t.procedure.use(trpcMiddleware).query(({ ctx }) => visit(ctx.session)) });
    await check(
      "cookie fuzz through trpc",
      property(async (header) => {
        const req = new Request("http://app.test/trpc/state", { headers: { cookie: header } });
        const response = await fetchRequestHandler({ endpoint: "/trpc", req, router, createContext });
        const body = response.status === 200 ? ((await response.json()) as { result: { data: { userId: unknown } } }) : undefined;
        return { status: response.status, userId: body?.result.data.userId };
      }),
      fuzzRuns,
    );
  }, 120_000);

  it(`next getSession/saveSession and sessionMiddleware: a fresh or the named session, never an exception (seed ${seed})`, async () => {
    const proxy = nextMiddleware(sessions);
    await check(
      "cookie fuzz through next",
      property(async (header) => {
        const request = new NextRequest("http://app.test/", { headers: { cookie: header } });
        const written = new Map<string, string>();
        const jar = {
          get: (name: string) => request.cookies.get(name),
          set: (name: string, value: string) => written.set(name, value),
        };
        const session = await getSession(sessions, { cookies: () => jar });
        const { userId } = visit(session);
        await saveSession(session);
        const response = await proxy(request);
        return { status: response.status, userId };
      }),
      fuzzRuns,
    );
  }, 120_000);
});
