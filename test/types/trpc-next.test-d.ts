import { initTRPC } from "@trpc/server";
import type { cookies } from "next/headers.js";
import { type NextProxy, NextResponse } from "next/server.js";
import { describe, expectTypeOf, it } from "vitest";
import * as z from "zod";
import { getSession, type NextCookies, sessionMiddleware as nextMiddleware, saveSession } from "../../src/adapters/next.js";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type Session } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
});
const sessions = defineSession({ schema, store: memoryStore() });
type Cart = { sku: string; qty: number }[];

describe("tesserae/trpc", () => {
  it("ctx.session carries the schema's types in a procedure, with no cast", () => {
    const createContext = createSessionContext(sessions);
    const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
    const procedure = t.procedure.use(sessionMiddleware);
    procedure.query(({ ctx }) => {
      expectTypeOf(ctx.session).toEqualTypeOf<Session<typeof schema>>();
      expectTypeOf(ctx.session.get("cart")).toEqualTypeOf<Cart>();
      expectTypeOf(ctx.session.get("userId")).toEqualTypeOf<string | undefined>();
      // @ts-expect-error not in the schema
      ctx.session.get("nope");
    });
  });

  it("a context that spreads the session context keeps its own fields", () => {
    const base = createSessionContext(sessions);
    const createContext = async (options: Parameters<typeof base>[0]) => ({ ...(await base(options)), db: 42 });
    const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
    t.procedure.use(sessionMiddleware).query(({ ctx }) => {
      expectTypeOf(ctx.db).toEqualTypeOf<number>();
      expectTypeOf(ctx.session.get("cart")).toEqualTypeOf<Cart>();
    });
  });

  it("the middleware refuses a context without a session", () => {
    const t = initTRPC.context<{ user: string }>().create();
    // @ts-expect-error no ctx.session to commit
    t.procedure.use(sessionMiddleware);
  });
});

describe("tesserae/next", () => {
  it("getSession returns the schema-typed session", async () => {
    const session = await getSession(sessions);
    expectTypeOf(session.get("cart")).toEqualTypeOf<Cart>();
    expectTypeOf(saveSession(session)).toEqualTypeOf<Promise<boolean>>();
  });

  it("Next's cookies() fits the jar the adapter takes, and the middleware is a NextProxy", () => {
    expectTypeOf<Awaited<ReturnType<typeof cookies>>>().toExtend<NextCookies>();
    expectTypeOf(nextMiddleware(sessions)).toExtend<NextProxy>();
    nextMiddleware(sessions, {
      response: (_request, session) => {
        expectTypeOf(session.get("userId")).toEqualTypeOf<string | undefined>();
        return NextResponse.next();
      },
    });
  });
});
