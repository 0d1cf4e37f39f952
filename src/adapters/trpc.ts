import { initTRPC, type TRPC_ERROR_CODE_KEY, TRPCError } from "@trpc/server";
import type { FetchCreateContextFnOptions } from "@trpc/server/adapters/fetch";
import { parseCookie, parseSetCookie } from "cookie";
import type { Session, SessionErrorStatus, SessionManager, SessionSchema, TesseraError } from "../index.js";
import { isTesseraError, SessionConfigError, sessionErrorAnswer } from "../index.js";

/** What `createSessionContext` puts in tRPC's context; spread it into your own. */
export interface SessionContext<S extends SessionSchema> {
  session: Session<S>;
}

/** Where one request's session cookie goes; keyed by the session, so the context stays `{ session }`. */
interface Outbox {
  name: string;
  /** null when the response is already on its way (httpBatchStreamLink) and headers can no longer be set (R20). */
  headers: Headers | null;
  /** The cookie's value as the request sent it. */
  sent: string | undefined;
  /** A batch runs its procedures concurrently over one session: their commits run one after another. */
  queue: Promise<unknown>;
}
const outboxes = new WeakMap<object, Outbox>();

/**
 * `createContext` for `fetchRequestHandler`: loads the request's session (a bad cookie is a fresh
 * session) and remembers `resHeaders` for `sessionMiddleware`. Sends `Vary: Cookie` (R18).
 * A store outage becomes `TRPCError({ code: "SERVICE_UNAVAILABLE" })` (HTTP 503), with
 * `Cache-Control: no-store`.
 * @example
 * const createContext = createSessionContext(sessions);
 * export type Context = Awaited<ReturnType<typeof createContext>>;
 * fetchRequestHandler({ endpoint: "/api/trpc", req, router, createContext });
 * // more context: createContext: async (opts) => ({ ...(await createContext(opts)), db })
 */
export function createSessionContext<S extends SessionSchema>(
  sessions: SessionManager<S>,
): (options: FetchCreateContextFnOptions) => Promise<SessionContext<S>> {
  if (typeof sessions?.load !== "function")
    throw new SessionConfigError("createSessionContext(sessions) takes defineSession's manager");
  return async ({ req, resHeaders, info }) => {
    resHeaders.append("Vary", "Cookie");
    const session = await translate(() => sessions.load(req), resHeaders);
    const sent = parseCookie(req.headers.get("cookie") ?? "", { decode: (value) => value })[sessions.cookieName];
    const headers = info.accept === "application/jsonl" ? null : resHeaders;
    outboxes.set(session, { name: sessions.cookieName, headers, sent, queue: Promise.resolve() });
    return { session };
  };
}

/**
 * Commits `ctx.session` after the procedure (a failed one too: a rotation or destroy is already
 * in the store and its cookie must go out; not one failed by a session error, which is answered
 * as below with nothing saved), puts its Set-Cookie on the response with
 * `Cache-Control: no-store` (R18), and maps the session's errors to the statuses every adapter
 * answers (the core's `sessionErrorAnswer`): `SessionStoreError` → `SERVICE_UNAVAILABLE` (503),
 * `SessionInterruptedError` and `SessionCorruptError` → `UNAUTHORIZED` (401),
 * `SessionTooLargeError` → `PAYLOAD_TOO_LARGE` (413), with `Cache-Control: no-store` and no stack
 * in the body even when tRPC's `isDev` adds one; and `SessionValidationError` → `BAD_REQUEST`.
 * It adds nothing to the context, so `ctx.session` keeps the type your context gave it.
 *
 * With a server-side store, data writes to an existing session need no Set-Cookie, so they work
 * over `httpBatchStreamLink` (whose headers go out before procedures finish). A write that needs a
 * new cookie there (a new session, `rotate()`, `destroy()`, a cookie-store change) throws
 * `SessionConfigError` after saving (R20): route those through `httpBatchLink` (`splitLink`).
 * A due refresh of an unchanged cookie is skipped there and sent by a later request.
 * @example
 * const t = initTRPC.context<Context>().create();
 * export const publicProcedure = t.procedure.use(sessionMiddleware);
 * // publicProcedure.query(({ ctx }) => ctx.session.get("cart")) // typed from the schema
 */
export const sessionMiddleware = initTRPC
  .context<{ session: { commit(): Promise<string[]> } }>()
  .create()
  .middleware(async ({ ctx, next }) => {
    const outbox = outboxes.get(ctx.session);
    if (outbox === undefined) {
      throw new SessionConfigError("sessionMiddleware needs a context built with createSessionContext(sessions)");
    }
    const result = await next();
    const cause = result.ok ? undefined : result.error.cause;
    // A session call in the procedure (rotate, destroy) found the store down or the session gone:
    // answered as a failed commit is, with nothing saved and no cookie (not even a clearing one).
    if (sessionErrorAnswer(cause) !== null) throw translateError(cause as TesseraError, outbox.headers);
    const commit = outbox.queue.then(() => translate(() => ctx.session.commit(), outbox.headers));
    outbox.queue = commit.catch(() => {});
    send(outbox, await commit);
    const mapped = isTesseraError(cause) ? translateError(cause, outbox.headers) : cause;
    if (mapped !== cause) throw mapped;
    return result;
  });

function send(outbox: Outbox, setCookies: string[]): void {
  if (setCookies.length === 0) return;
  const { headers, name, sent } = outbox;
  if (headers === null) {
    const value = parseSetCookie(setCookies[0] ?? "", { decode: (v) => v }).value;
    if (setCookies.length === 1 && value !== "" && value === sent) return;
    throw new SessionConfigError("The session needs a new cookie, but this streamed response's headers are already sent");
  }
  // Each commit returns the session's whole cookie: keep only the latest one of this batch.
  const others = headers.getSetCookie().filter((cookie) => parseSetCookie(cookie).name !== name);
  headers.delete("Set-Cookie");
  for (const cookie of [...others, ...setCookies]) headers.append("Set-Cookie", cookie);
  headers.set("Cache-Control", "no-store");
}

async function translate<T>(run: () => Promise<T>, headers: Headers | null): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw isTesseraError(error) ? translateError(error, headers) : error;
  }
}

/** The tRPC code whose HTTP status is the core's answer. */
const codes = {
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  413: "PAYLOAD_TOO_LARGE",
  503: "SERVICE_UNAVAILABLE",
} as const satisfies Record<SessionErrorStatus, TRPC_ERROR_CODE_KEY>;

/**
 * The client gets no stack: tRPC's default `isDev` (NODE_ENV not "production") copies the thrown
 * error's stack into the response, so these envelopes have none. The Tessera error, with its own
 * stack, stays in `cause` (for `onError` and logs). The message is the core's fixed text, or for
 * a validation error the schema's (which names the key, never a value or a token).
 */
function translateError(error: TesseraError, headers: Headers | null): Error {
  const answer = sessionErrorAnswer(error);
  let translated: TRPCError;
  if (answer !== null) {
    headers?.set("Cache-Control", "no-store");
    translated = new TRPCError({ code: codes[answer.status], message: answer.message, cause: error });
  } else if (error.code === "SESSION_VALIDATION") {
    translated = new TRPCError({ code: "BAD_REQUEST", message: error.message, cause: error });
  } else return error;
  Object.defineProperty(translated, "stack", { value: undefined });
  return translated;
}
