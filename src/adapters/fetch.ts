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

/** Options of `withSession`. */
export interface WithSessionOptions {
  /**
   * The response for a store outage (`SessionStoreError` from the load or the save). It never
   * carries a `Set-Cookie`, so the client keeps its cookie (R49).
   * @default a `503` with a short text body and `Cache-Control: no-store`
   */
  onStoreError?: (error: SessionStoreError, request: Request) => Response | Promise<Response>;
  /**
   * The cross-site request check (`crossSiteCheck`): a state-changing request (not GET, HEAD or
   * OPTIONS) whose `Sec-Fetch-Site` or `Origin` names another site is answered 403 before the
   * session loads. `false` turns it off (an API called only by other servers).
   * @default on, trusting only the request's own host
   */
  csrf?: CsrfOption;
}

/** What `withSession` wraps: a Web-standard handler that also receives the typed session. */
export type SessionFetchHandler<S extends SessionSchema> = (
  request: Request,
  session: Session<S>,
) => Response | Promise<Response>;

/**
 * Wraps a Web-standard handler: loads the session from the request's cookie, runs the handler,
 * saves, and returns a copy of its response with the `Set-Cookie` values, `Cache-Control: private,
 * no-store` when a cookie is sent and `Vary: Cookie` always (R18). A session error in the load or
 * the save gets the core's answer (`sessionErrorResponse`: 503 store down, 401 session revoked or
 * unreadable, 413 too large; no stack, no cookie), and so does one the handler throws (from
 * `rotate()`, say); any other error propagates; a cross-site state-changing request gets a 403
 * before the session loads (`csrf`). A request that ends in an error (the handler threw, or
 * answered 500 or more) commits nothing (but `rotate()`/`destroy()` act on the store when called). Once
 * the handler has returned, the session is read-only: a change then (from a streaming body, say)
 * throws `SessionUsageError` rather than being lost (R20).
 * @example export default { fetch: withSession(sessions, (req, session) => Response.json(session.get("cart"))) };
 */
export function withSession<S extends SessionSchema>(
  sessions: SessionManager<S>,
  handler: SessionFetchHandler<S>,
  options: WithSessionOptions = {},
): (request: Request) => Promise<Response> {
  if (typeof sessions?.load !== "function") throw new SessionConfigError("withSession takes defineSession's manager");
  if (typeof handler !== "function") throw new SessionConfigError("withSession needs a handler function");
  const onStoreError = options.onStoreError ?? storeUnavailableResponse;
  if (typeof onStoreError !== "function") throw new SessionConfigError("onStoreError must be a function");
  const crossSite = crossSiteCheck(options.csrf);

  const answer = async (error: unknown, request: Request) => {
    if (isStoreUnavailable(error)) return withSessionHeaders(await onStoreError(error, request), []);
    const response = sessionErrorResponse(error);
    if (response === null) throw error;
    return response;
  };
  return async (request) => {
    if (crossSite(request)) return answer(new CrossSiteRequestError(), request);
    let session: Session<S>;
    try {
      session = await sessions.load(request.headers.get("cookie"));
    } catch (error) {
      return answer(error, request);
    }
    let response: Response;
    try {
      response = await handler(request, session);
    } catch (error) {
      // A session call in the handler (rotate, destroy) found the store down or the session gone.
      if (sessionErrorAnswer(error) === null) throw error;
      return answer(error, request);
    } finally {
      lockSession(session, "after the response was returned: its headers are final");
    }
    if (response.status >= 500) return withSessionHeaders(response, []);
    // The client hung up: nobody receives a new token, so a legacy session is not claimed.
    if (request.signal.aborted) holdLegacy(session, "abandoned");
    let cookies: string[];
    try {
      cookies = (await commitCookies(session)).map((cookie) => cookie.header);
    } catch (error) {
      // The handler's response is dropped: release its body (a stream may hold a cursor open).
      response.body?.cancel().catch(() => undefined);
      return answer(error, request);
    }
    return withSessionHeaders(response, cookies);
  };
}
