import express, { type Request as ExpressRequest } from "express";
import { Hono } from "hono";
import type { NextRequest } from "next/server.js";
import { describe, expectTypeOf, it } from "vitest";
import * as z from "zod";
import { expressSession, type SessionRequest, sessionHandler } from "../../src/adapters/express.js";
import { type SessionFetchHandler, withSession } from "../../src/adapters/fetch.js";
import { honoSession, type SessionEnv } from "../../src/adapters/hono.js";
import { sessionRoute, withSessionErrors } from "../../src/adapters/next.js";
import {
  defineSession,
  type Session,
  type SessionErrorAnswer,
  type SessionErrorStatus,
  sessionErrorAnswer,
  sessionErrorResponse,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
});
type Cart = { sku: string; qty: number }[];
const sessions = defineSession({ schema, store: memoryStore() });

describe("adapters carry the schema's types (no declare module, no generic written by the user)", () => {
  it("hono: c.get('session') is Session<S>, through app.use chaining, a route middleware or SessionEnv", () => {
    new Hono().use(honoSession(sessions)).get("/", (c) => {
      expectTypeOf(c.get("session")).toEqualTypeOf<Session<typeof schema>>();
      expectTypeOf(c.get("session").get("cart")).toEqualTypeOf<Cart>();
      expectTypeOf(c.get("session").get("userId")).toEqualTypeOf<string | undefined>();
      // @ts-expect-error qty must be a number
      c.get("session").set("cart", [{ sku: "a", qty: "1" }]);
      return c.text("ok");
    });
    new Hono().get("/", honoSession(sessions), (c) => {
      expectTypeOf(c.get("session").get("cart")).toEqualTypeOf<Cart>();
      return c.text("ok");
    });
    new Hono<SessionEnv<typeof sessions>>().get("/", (c) => {
      expectTypeOf(c.get("session").get("cart")).toEqualTypeOf<Cart>();
      return c.text("ok");
    });
  });

  it("hono: without the middleware there is no typed session variable", () => {
    new Hono().get("/", (c) => {
      // @ts-expect-error "session" is not a variable of this app
      c.get("session");
      return c.text("ok");
    });
  });

  it("express: req.session through sessionHandler and SessionRequest", () => {
    express()
      .use(expressSession(sessions))
      .get(
        "/users/:id",
        sessionHandler(sessions, (req, res) => {
          expectTypeOf(req.session).toEqualTypeOf<Session<typeof schema>>();
          expectTypeOf(req.session.get("cart")).toEqualTypeOf<Cart>();
          // @ts-expect-error unknown key
          req.session.get("nope");
          res.json(req.params.id);
        }),
      )
      .get(
        "/items/:sku",
        sessionHandler(sessions, (req: SessionRequest<typeof sessions, ExpressRequest<{ sku: string }>>, res) => {
          expectTypeOf(req.params.sku).toEqualTypeOf<string>();
          res.end();
        }),
      );
    expectTypeOf<SessionRequest<typeof sessions>["session"]>().toEqualTypeOf<Session<typeof schema>>();
    expectTypeOf<SessionRequest<typeof sessions>>().toExtend<ExpressRequest>();
  });

  it("fetch: the withSession handler's session is Session<S>", () => {
    const handler = withSession(sessions, (request, session) => {
      expectTypeOf(request).toEqualTypeOf<Request>();
      expectTypeOf(session.get("cart")).toEqualTypeOf<Cart>();
      expectTypeOf(session.get("userId")).toEqualTypeOf<string | undefined>();
      // @ts-expect-error "blue" is not a cart
      session.set("cart", "blue");
      return new Response();
    });
    expectTypeOf(handler).toEqualTypeOf<(request: Request) => Promise<Response>>();
    expectTypeOf<Parameters<SessionFetchHandler<typeof schema>>[1]>().toEqualTypeOf<Session<typeof schema>>();
  });

  it("B6: the session-error answer is typed by its statuses; withSessionErrors keeps the Route Handler's signature", () => {
    expectTypeOf(sessionErrorAnswer).returns.toEqualTypeOf<SessionErrorAnswer | null>();
    expectTypeOf<SessionErrorAnswer["status"]>().toEqualTypeOf<SessionErrorStatus>();
    expectTypeOf<SessionErrorStatus>().toEqualTypeOf<401 | 403 | 413 | 503>();
    expectTypeOf(sessionErrorResponse).returns.toEqualTypeOf<Response | null>();
    const route = withSessionErrors(async (request: Request, context: { params: Promise<{ id: string }> }) =>
      Response.json({ url: request.url, id: (await context.params).id }),
    );
    expectTypeOf(route).toEqualTypeOf<(request: Request, context: { params: Promise<{ id: string }> }) => Promise<Response>>();
    // @ts-expect-error a Route Handler returns a Response
    withSessionErrors(() => "ok");
  });

  it("12: sessionRoute keeps the Route Handler's signature (withSessionErrors is its alias) and takes csrf", () => {
    expectTypeOf(withSessionErrors).toEqualTypeOf(sessionRoute);
    const route = sessionRoute(async (request: NextRequest) => Response.json({ url: request.url }), {
      csrf: { trustedOrigins: ["https://a.example"] },
    });
    expectTypeOf(route).toEqualTypeOf<(request: NextRequest) => Promise<Response>>();
    sessionRoute(() => new Response(), { csrf: false });
    // @ts-expect-error csrf is false or an options object
    sessionRoute(() => new Response(), { csrf: true });
  });
});
