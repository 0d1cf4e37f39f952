import type { Context, MiddlewareHandler } from "hono";
import { commitCookies, holdLegacy, isStoreUnavailable, lockSession, storeUnavailableResponse } from "../adapter-kit.js";
import {
  CrossSiteRequestError,
  type CsrfOption,
  crossSiteCheck,
  type Session,
  SessionConfigError,
  type SessionManager,
  type SessionSchema,
  type SessionStoreError,
  sessionErrorAnswer,
  sessionErrorResponse,
  withSessionHeaders,
} from "../index.js";

/** Options of `honoSession`. */
export interface HonoSessionOptions {
  /**
   * The response for a store outage (`SessionStoreError` from the load or the save). It never
   * carries a `Set-Cookie`, so the client keeps its cookie (R49).
   * @default a `503` with a short text body and `Cache-Control: no-store`
   */
  onStoreError?: (error: SessionStoreError, c: Context) => Response | Promise<Response>;
  /**
   * The cross-site request check (`crossSiteCheck`): a state-changing request (not GET, HEAD or
   * OPTIONS) whose `Sec-Fetch-Site` or `Origin` names another site is answered 403 before the
   * session loads. `false` turns it off (an API called only by other servers).
   * @default on, trusting only the request's own host
   */
  csrf?: CsrfOption;
}

/** The Hono env `honoSession` provides, for `new Hono<SessionEnv<typeof sessions>>()`. */
export type SessionEnv<M> = { Variables: { session: Session<M extends SessionManager<infer S> ? S : never> } };

/**
 * Hono middleware: `c.get("session")` is the request's session, typed from the schema (no
 * `ContextVariableMap` augmentation). After the handler it saves and appends the `Set-Cookie`
 * values, `Cache-Control: private, no-store` when a cookie is sent and `Vary: Cookie` always (R18);
 * a request that ended in an error (`c.error`, or a status of 500 or more) commits nothing. A
 * session error in the load, the save or thrown by a handler (from `rotate()`, say) gets the
 * core's answer (`sessionErrorResponse`: 503, 401 or 413; no stack, no cookie) in place of
 * `app.onError`'s; a cross-site state-changing request a 403 before the session loads (`csrf`).
 * Mounted again on the same request (an app and its sub-app) it reuses the session already
 * there. Once the handler has returned, the session is read-only: a change then (from
 * `streamSSE`, say) throws `SessionUsageError` (R20).
 * @example const app = new Hono().use(honoSession(sessions)).get("/", (c) => c.json(c.get("session").get("cart")));
 */
export function honoSession<S extends SessionSchema>(
  sessions: SessionManager<S>,
  options: HonoSessionOptions = {},
): MiddlewareHandler<{ Variables: { session: Session<S> } }> {
  if (typeof sessions?.load !== "function") throw new SessionConfigError("honoSession takes defineSession's manager");
  // A fresh 503, not `c.text`, which would copy the dropped response's headers onto it.
  const onStoreError = options.onStoreError ?? storeUnavailableResponse;
  if (typeof onStoreError !== "function") throw new SessionConfigError("onStoreError must be a function");
  const crossSite = crossSiteCheck(options.csrf);

  const answer = async (error: unknown, c: Context) => {
    const response = isStoreUnavailable(error) ? await onStoreError(error, c) : sessionErrorResponse(error);
    if (response === null) throw error;
    replaceResponse(c, response, []);
  };
  return async (c, next) => {
    // An app and a sub-app that both mount it: the outer mount owns the session and its commit
    // (a refusal here is thrown for it to answer, with nothing committed).
    const owner = mounted.get(c);
    if (crossSite(c.req.raw)) {
      if (owner !== undefined) throw new CrossSiteRequestError();
      return answer(new CrossSiteRequestError(), c);
    }
    if (owner === sessions) return next();
    if (owner !== undefined) throw new SessionConfigError("honoSession is mounted twice with different managers");
    mounted.set(c, sessions);
    let session: Session<S>;
    try {
      session = await sessions.load(c.req.header("Cookie") ?? null);
    } catch (error) {
      return answer(error, c);
    }
    c.set("session", session);
    try {
      await next();
    } finally {
      lockSession(session, "after the response was returned: its headers are final");
    }
    // A session call in a handler (rotate, destroy) found the store down or the session gone:
    // app.onError has made a 500 of it; the answer is the same as from the commit, nothing is saved.
    if (c.error !== undefined && sessionErrorAnswer(c.error) !== null) {
      c.res.body?.cancel().catch(() => undefined);
      return answer(c.error, c);
    }
    if (c.error !== undefined || c.res.status >= 500) return replaceResponse(c, c.res, []);
    let cookies: string[];
    try {
      // The client hung up: nobody receives a new token, so a legacy session is not claimed.
      if (c.req.raw.signal.aborted) holdLegacy(session, "abandoned");
      cookies = (await commitCookies(session)).map((cookie) => cookie.header);
    } catch (error) {
      c.res.body?.cancel().catch(() => undefined);
      return answer(error, c);
    }
    replaceResponse(c, c.res, cookies);
  };
}

/** Which manager's middleware owns each request's session. */
const mounted = new WeakMap<Context, object>();

/**
 * Sets `c.res` to a copy with the session headers: the handler's response may have immutable
 * headers (`fetch`, `Response.redirect`) or be shared between requests. `c.res = undefined` first,
 * because assigning over a response makes Hono copy the old headers onto the new one.
 */
function replaceResponse(c: Context, response: Response, cookies: readonly string[]): void {
  const decorated = withSessionHeaders(response, cookies);
  if (decorated === response) return; // decorated in place (a WebSocket upgrade)
  c.res = undefined;
  c.res = decorated;
}
