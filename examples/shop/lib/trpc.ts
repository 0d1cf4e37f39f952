import { initTRPC, TRPCError } from "@trpc/server";
import type { FetchCreateContextFnOptions } from "@trpc/server/adapters/fetch";
import { SessionValidationError } from "tesserae";
import { createSessionContext, sessionMiddleware } from "tesserae/trpc";
import * as z from "zod";
import { getSessions } from "./sessions";

/** The tRPC context: `session` (typed from the schema) from Tessera's adapter, plus the manager and the request. */
export async function createContext(options: FetchCreateContextFnOptions) {
  const sessions = await getSessions();
  const { session } = await createSessionContext(sessions)(options);
  return { session, sessions, req: options.req };
}

export type Context = Awaited<ReturnType<typeof createContext>>;

const t = initTRPC.context<Context>().create();

/** Logged-in activity, for the "Your sessions" page: at most one extra write a minute. */
const lastSeen = t.middleware(async ({ ctx, next }) => {
  const result = await next();
  const seen = ctx.session.get("lastSeen");
  if (ctx.session.has("userId") && (seen === undefined || Date.now() - seen.getTime() > 60_000)) {
    ctx.session.set("lastSeen", new Date());
  }
  return result;
});

export const router = t.router;
/** Every procedure: Tessera's middleware commits the session after it and sends the cookie when it changed. */
export const procedure = t.procedure.use(sessionMiddleware).use(lastSeen);
export const userProcedure = procedure.use(({ ctx, next }) => {
  const userId = ctx.session.get("userId");
  if (userId === undefined) throw new TRPCError({ code: "UNAUTHORIZED", message: "Log in first." });
  return next({ ctx: { userId } });
});

/**
 * Runs session writes (or checks a value with a piece of the session schema); a value the
 * schema refuses becomes a 400 whose message is the schema's own ("Quantity can be at most
 * 99"), for the page to show as it is. Returns what `write` returns, awaited when a promise.
 */
export function validated<T>(write: () => Promise<T>): Promise<T>;
export function validated<T>(write: () => T): T;
export function validated<T>(write: () => T | Promise<T>): T | Promise<T> {
  try {
    const result = write();
    return result instanceof Promise ? result.catch(rethrow) : result;
  } catch (error) {
    return rethrow(error);
  }
}

function rethrow(error: unknown): never {
  const issues = error instanceof SessionValidationError ? error.issues : error instanceof z.ZodError ? error.issues : undefined;
  if (issues === undefined) throw error;
  // No `cause`: the adapter would otherwise map it again, with the key's name in the message.
  throw new TRPCError({ code: "BAD_REQUEST", message: issues.map((issue) => issue.message).join("; ") });
}
