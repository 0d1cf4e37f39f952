import { initTRPC, type TRPC_ERROR_CODE_KEY, TRPCError } from "@trpc/server";
import type { FetchCreateContextFnOptions } from "@trpc/server/adapters/fetch";
import { parseCookie } from "cookie";
import { commitCookies, holdLegacy, isDispensable, lockSession, type SessionCookie } from "../adapter-kit.js";
import type { CsrfOption, Session, SessionErrorStatus, SessionManager, SessionSchema, TesseraError } from "../index.js";
import {
  CrossSiteRequestError,
  crossSiteCheck,
  isTesseraError,
  SESSION_CACHE_CONTROL,
  SessionConfigError,
  SessionUsageError,
  sessionErrorAnswer,
} from "../index.js";
import { batchOf, inBatch, openBatch } from "./trpc/batch.js";

/** What `createSessionContext` puts in tRPC's context; spread it into your own. */
export interface SessionContext<S extends SessionSchema> {
  session: Session<S>;
}

/** Options of `createSessionContext`. */
export interface SessionContextOptions {
  /**
   * Refuse cross-site POSTs (mutations; queries too with `allowMethodOverride`) with `FORBIDDEN`
   * (403) before the session loads, by `Sec-Fetch-Site` and `Origin` (docs/security.md); `false`
   * turns it off, `{ trustedOrigins }` lets other origins of yours through.
   * @default {} (on, the request's own origin only)
   */
  csrf?: CsrfOption;
}

/** Where one request's session cookie goes. */
interface Outbox {
  /** null when the response is already on its way (httpBatchStreamLink) and headers can no longer be set (R20). */
  headers: Headers | null;
  /** Pins `Cache-Control` on `resHeaders`, against `responseMeta` and later writes. */
  pin(value: string): void;
  /** The cookie's value as the request sent it. */
  sent: string | undefined;
  /** The `Set-Cookie` values this outbox put on `headers`, replaced by the next commit's. */
  appended: string[];
}
const outboxes = new WeakMap<object, Outbox>();

/**
 * `createContext` for `fetchRequestHandler`: refuses a cross-site POST (`csrf`), loads the
 * request's session (a bad cookie is a fresh session) and remembers `resHeaders` for
 * `sessionMiddleware`. Sends `Vary: Cookie` (R18). A store outage becomes
 * `TRPCError({ code: "SERVICE_UNAVAILABLE" })` (HTTP 503), with `Cache-Control: no-store`.
 * @example
 * const createContext = createSessionContext(sessions);
 * export type Context = Awaited<ReturnType<typeof createContext>>;
 * fetchRequestHandler({ endpoint: "/api/trpc", req, router, createContext });
 * // more context: createContext: async (opts) => ({ ...(await createContext(opts)), db })
 */
export function createSessionContext<S extends SessionSchema>(
  sessions: SessionManager<S>,
  options: SessionContextOptions = {},
): (options: FetchCreateContextFnOptions) => Promise<SessionContext<S>> {
  if (typeof sessions?.load !== "function")
    throw new SessionConfigError("createSessionContext(sessions) takes defineSession's manager");
  const crossSite = crossSiteCheck(options.csrf);
  return async ({ req, resHeaders, info }) => {
    resHeaders.append("Vary", "Cookie");
    const pin = pinCacheControl(resHeaders);
    if (crossSite(req)) throw translateError(new CrossSiteRequestError(), pin);
    const session = await translate(() => sessions.load(req), pin);
    const sent = parseCookie(req.headers.get("cookie") ?? "", { decode: (value) => value })[sessions.cookieName];
    const headers = info.accept === "application/jsonl" ? null : resHeaders;
    const outbox: Outbox = { headers, pin, sent, appended: [] };
    outboxes.set(session, outbox);
    // A streamed response cannot carry the Tessera cookie a legacy cookie's claim would mint.
    if (headers === null) holdLegacy(session, "no-cookies");
    const commit = () => {
      // Nobody receives this response: a legacy session stays unclaimed for the next request.
      if (req.signal.aborted) holdLegacy(session, "abandoned");
      return commitCookies(session);
    };
    openBatch(session as unknown as Session<SessionSchema>, {
      commit: () => translate(commit, pin).then((cookies) => send(outbox, cookies)),
      streamed: headers === null,
      signal: req.signal,
      abortError: () => new TRPCError({ code: "CLIENT_CLOSED_REQUEST", message: "The request was aborted" }),
    });
    return { session };
  };
}

/**
 * Commits `ctx.session` once every procedure of the request that uses it has finished, puts its
 * Set-Cookie on the response with `Cache-Control: private, no-store` (which `responseMeta`
 * cannot replace), and maps the session's errors to the statuses every adapter answers (the
 * core's `sessionErrorAnswer`): `SessionStoreError` → `SERVICE_UNAVAILABLE` (503),
 * `SessionInterruptedError` and `SessionCorruptError` → `UNAUTHORIZED` (401),
 * `SessionTooLargeError` → `PAYLOAD_TOO_LARGE` (413), with `Cache-Control: no-store` and no stack
 * in the body even when tRPC's `isDev` adds one; and `SessionValidationError` → `BAD_REQUEST`.
 *
 * A procedure that fails commits nothing of its own: its unsaved writes are discarded, while the
 * other procedures of its batch keep theirs; a batch in which every procedure failed sends no
 * Set-Cookie. A procedure that wrote answers once the commit is done. In a subscription the
 * session is read-only once its response has started. With httpBatchStreamLink, whose headers
 * go out before procedures finish, a change that needs a new cookie (a new session, `rotate()`,
 * `destroy()`, `login()`, `setExpiry()`) throws `SessionUsageError` before anything is stored.
 * It adds nothing to the context's type, so `ctx.session` keeps the type your context gave it.
 * @example
 * const t = initTRPC.context<Context>().create();
 * export const publicProcedure = t.procedure.use(sessionMiddleware);
 * // publicProcedure.query(({ ctx }) => ctx.session.get("cart")) // typed from the schema
 */
export const sessionMiddleware = initTRPC
  .context<{ session: { commit(): Promise<string[]> } }>()
  .create()
  .middleware(async ({ ctx, next, type }) => {
    const batch = batchOf(ctx.session);
    if (batch === "view") return next(); // applied twice: the outer one's view records already
    if (batch === undefined) {
      throw new SessionConfigError("sessionMiddleware needs a context built with createSessionContext(sessions)");
    }
    const result = await inBatch(batch, (view) => next({ ctx: { session: view } as object }));
    if (type === "subscription") {
      lockSession(batch.session, "was called after the subscription's response started: its cookie and changes cannot be sent");
    }
    const cause = result.ok ? undefined : result.error.cause;
    const mapped = isTesseraError(cause) ? translateError(cause, (outboxes.get(batch.session) as Outbox).pin) : cause;
    if (mapped !== cause) throw mapped;
    return result;
  });

function send(outbox: Outbox, cookies: SessionCookie[]): void {
  if (cookies.length === 0) return;
  const { headers } = outbox;
  if (headers === null) {
    // Only the expiry moved, or only a cookie-cache snapshot: nothing the browser needs (R16).
    if (cookies.every((cookie) => isDispensable(cookie, outbox.sent))) return;
    throw new SessionUsageError("The session needs a new cookie, but this streamed response's headers are already sent");
  }
  // Each commit returns the session's whole cookie: a batch's later commit replaces what the
  // earlier one appended, and every other Set-Cookie (the app's own) stays, in its order.
  const stale = [...outbox.appended];
  const others = headers.getSetCookie().filter((value) => {
    const at = stale.indexOf(value);
    if (at !== -1) stale.splice(at, 1);
    return at === -1;
  });
  outbox.appended = cookies.map((cookie) => cookie.header);
  headers.delete("Set-Cookie");
  for (const value of [...others, ...outbox.appended]) headers.append("Set-Cookie", value);
  outbox.pin(SESSION_CACHE_CONTROL);
}

/**
 * tRPC writes `responseMeta`'s headers into `resHeaders` after the procedures (the object form
 * with `set`, replacing ours), then copies them to the response. So once a session answer needs
 * a `Cache-Control`, this `resHeaders` keeps it whatever is set, appended or deleted later.
 */
function pinCacheControl(headers: Headers): (value: string) => void {
  const known = pins.get(headers);
  if (known !== undefined) return known;
  const { set, append, delete: remove } = Headers.prototype;
  let pinned: string | null = null;
  const held = (name: string) => pinned !== null && name.toLowerCase() === "cache-control";
  Object.defineProperties(headers, {
    set: { value: (name: string, value: string) => set.call(headers, name, held(name) ? (pinned as string) : value) },
    append: {
      value: (name: string, value: string) =>
        held(name) ? set.call(headers, name, pinned as string) : append.call(headers, name, value),
    },
    delete: { value: (name: string) => (held(name) ? undefined : remove.call(headers, name)) },
  });
  const pin = (value: string) => {
    // A session cookie's `private, no-store` is never weakened to an error's `no-store`.
    if (pinned !== SESSION_CACHE_CONTROL) pinned = value;
    set.call(headers, "Cache-Control", pinned as string);
  };
  pins.set(headers, pin);
  return pin;
}
/** A context built twice over one request (a composed createContext) pins through the same guard. */
const pins = new WeakMap<Headers, (value: string) => void>();

async function translate<T>(run: () => Promise<T>, pin: (value: string) => void): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw isTesseraError(error) ? translateError(error, pin) : error;
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
function translateError(error: TesseraError, pin: (value: string) => void): Error {
  const answer = sessionErrorAnswer(error);
  let translated: TRPCError;
  if (answer !== null) {
    pin("no-store");
    translated = new TRPCError({ code: codes[answer.status], message: answer.message, cause: error });
  } else if (error.code === "SESSION_VALIDATION") {
    translated = new TRPCError({ code: "BAD_REQUEST", message: error.message, cause: error });
  } else return error;
  Object.defineProperty(translated, "stack", { value: undefined });
  return translated;
}
