import type { SetCookie } from "cookie";
import { cookies as nextCookies } from "next/headers.js";
import { type NextRequest, NextResponse } from "next/server.js";
import {
  commitCookies,
  holdLegacy,
  isDispensable,
  isSettled,
  legacyPending,
  loadedFromSnapshot,
  lockSession,
  type SessionCookie,
  sessionCookieName,
  snapshotCookie,
} from "../adapter-kit.js";
import {
  CrossSiteRequestError,
  type CsrfOption,
  crossSiteCheck,
  SESSION_CACHE_CONTROL,
  type Session,
  SessionConfigError,
  type SessionManager,
  type SessionSchema,
  SessionUsageError,
  sessionErrorResponse,
  withSessionHeaders,
} from "../index.js";

/** A cookie's attributes as `cookies().set(name, value, attributes)` takes them. */
export type CookieAttributes = Omit<SetCookie, "name" | "value">;

/** What the adapter needs of Next's `await cookies()` (`ReadonlyRequestCookies` fits). */
export interface NextCookies {
  get(name: string): { value: string } | undefined;
  set(name: string, value: string, attributes: CookieAttributes): unknown;
}

/** Options of `getSession` and `sessionRoute`. */
export interface GetSessionOptions {
  /** Where the request's cookies come from (tests pass their own). @default `cookies` from `next/headers` */
  cookies?: () => NextCookies | Promise<NextCookies>;
}

/** Options of `sessionRoute`. */
export interface SessionRouteOptions extends GetSessionOptions {
  /** The cross-site request check (see `SessionMiddlewareOptions.csrf`). @default on */
  csrf?: CsrfOption;
}

/** Options of `sessionMiddleware`. */
export interface SessionMiddlewareOptions<S extends SessionSchema> {
  /** Your own proxy logic, given the session; the cookie is added to its response (a `NextResponse` or a plain `Response`). @default NextResponse.next() */
  response?: (request: NextRequest, session: Session<S>) => Response | Promise<Response>;
  /**
   * The cross-site request check: a state-changing request (not GET, HEAD or OPTIONS) whose
   * `Sec-Fetch-Site` or `Origin` names another site is answered 403 before the session loads.
   * `false` turns it off. (Server Actions have Next's own Origin check as well.)
   * @default on, trusting only the request's own host
   */
  csrf?: CsrfOption;
}

/** A Route Handler run by `sessionRoute`: the sessions it loaded, and whether its response is out. */
interface RouteState {
  sessions: Set<Session<SessionSchema>>;
  wroteCookie: boolean;
  returned: boolean;
}

/** The cookie jar each session came from, so `saveSession(session)` needs nothing else. */
const jars = new WeakMap<object, NextCookies>();
/** Next gives each request one `cookies()` object: it ties a session to its `sessionRoute` call. */
const routes = new WeakMap<NextCookies, RouteState>();
const RETURNED = "after the Route Handler returned its response: its cookie can no longer be set";
/** The request header by which the proxy tells the destination of its rewrite that a session cookie goes out. */
const REWRITE_MARK = "x-tessera-session-cookie";

/**
 * This request's session in a Route Handler, Server Action or Server Component, from
 * `await cookies()`. A bad cookie is a fresh session. Wrap it in React's `cache()` to load once
 * per render.
 * @example
 * // app/page.tsx (Server Component: read-only)
 * const session = await getSession(sessions);
 * return <Cart items={session.get("cart")} />;
 */
export async function getSession<S extends SessionSchema>(
  sessions: SessionManager<S>,
  options: GetSessionOptions = {},
): Promise<Session<S>> {
  const jar = await cookieSource(options.cookies)();
  const session = await sessions.load(jar);
  jars.set(session, jar);
  const route = routes.get(jar);
  route?.sessions.add(session as unknown as Session<SessionSchema>);
  if (route?.returned) lockSession(session, RETURNED);
  return session;
}

/**
 * Saves the session and writes its cookie, when it changed, through `cookies().set` with the
 * session cookie's name, value and attributes. Returns whether a cookie was written. In a Route
 * Handler, wrap the handler in `sessionRoute` (it sends `Cache-Control: private, no-store` with the
 * cookie); Next sends `no-store` itself for Server Actions and dynamic pages.
 *
 * Server Components cannot set cookies: a save that needs a new cookie there (a new session,
 * `rotate()`, `destroy()`, a cookie-store change) throws `SessionUsageError` (R20), after the
 * store write. Data changes to an existing session in a server-side store need no cookie and
 * succeed; a due refresh of an unchanged cookie is skipped and left to `sessionMiddleware`.
 * @example
 * // app/actions.ts
 * "use server";
 * export async function addToCart(sku: string) {
 *   const session = await getSession(sessions);
 *   session.set("cart", [...session.get("cart"), { sku, qty: 1 }]);
 *   await saveSession(session);
 * }
 */
export async function saveSession<S extends SessionSchema>(session: Session<S>): Promise<boolean> {
  const jar = jars.get(session) ?? (await nextCookies());
  const route = routes.get(jar);
  // `sessionRoute` saved everything when the handler returned and has locked the session since;
  // what is left is at most a due refresh, whose cookie could not reach the client any more.
  if (route?.returned) return false;
  refuseUnreplaceableSnapshot(session, jar);
  holdUnsendableClaim(session, jar);
  let written = false;
  for (const cookie of await commitCookies(session)) {
    const sent = jar.get(cookie.name)?.value;
    try {
      jar.set(cookie.name, cookie.value, cookie.attributes);
      written = true;
    } catch (error) {
      if (isDispensable(cookie, sent)) continue;
      throw new SessionUsageError(
        "The session needs a new cookie, but cookies cannot be set here (a Server Component?): " +
          "save it in a Server Action or Route Handler",
        { cause: error },
      );
    }
  }
  if (written && route !== undefined) route.wroteCookie = true;
  return written;
}

/**
 * A session loaded through its legacy cookie is claimed by its commit (rotated to a new token):
 * where that token cannot be set (a Server Component), the claim would log the user out, so it
 * is held (reads work, a change throws `SessionUsageError` before anything is stored). Clearing
 * the session cookie first tells which: the request has none, and where cookies can be set the
 * commit's own cookie replaces the clear.
 */
function holdUnsendableClaim(session: object, jar: NextCookies): void {
  if (!legacyPending(session)) return;
  const name = sessionCookieName(session);
  try {
    jar.set(name, "", { maxAge: 0, path: "/" });
  } catch {
    holdLegacy(session, "no-cookies");
  }
}

/**
 * A save of a session read from the browser's cookie-cache snapshot must replace that snapshot,
 * or the browser's next read-modify-write would start from it and undo the save. Where cookies
 * cannot be set (a Server Component) it is refused before the store is touched: clearing the
 * snapshot first tells which (harmless where it works: the commit sets the new one).
 */
function refuseUnreplaceableSnapshot(session: object, jar: NextCookies): void {
  const name = snapshotCookie(session);
  if (name === null || !loadedFromSnapshot(session) || isSettled(session)) return;
  try {
    jar.set(name, "", { maxAge: 0, path: "/" });
  } catch (error) {
    throw new SessionUsageError(
      "The session was read from its cookie-cache snapshot, which cannot be replaced here (a Server Component?): " +
        "save it in a Server Action or Route Handler",
      { cause: error },
    );
  }
}

/**
 * Next's `proxy` (or `middleware`): refreshes a due rolling expiry by re-setting the cookie on the
 * response, which Server Components cannot do, and hands the session to your own logic
 * (`response`). Sends `Vary: Cookie`, and `Cache-Control: private, no-store` with a cookie (also
 * through a rewrite: the rewritten request is marked so that this proxy, running again on it when
 * Next serves the rewrite as a proxied request, answers no-store too). A session error in its load
 * or save is answered here, so the route never runs: the core's `sessionErrorResponse` (503 store
 * down, 401 session revoked or unreadable, 413 too large, 403 cross-site; no stack, no cookie).
 * Run it on the Node.js runtime when the store needs Node (Drizzle, PGlite).
 * @example
 * // proxy.ts
 * export const proxy = sessionMiddleware(sessions);
 * export const config = { matcher: ["/((?!_next/static|_next/image|favicon.ico).*)"] };
 */
export function sessionMiddleware<S extends SessionSchema>(
  sessions: SessionManager<S>,
  options: SessionMiddlewareOptions<S> = {},
): (request: NextRequest) => Promise<NextResponse> {
  if (typeof sessions?.load !== "function")
    throw new SessionConfigError("sessionMiddleware(sessions) takes defineSession's manager");
  const respond = options.response ?? (() => NextResponse.next());
  if (typeof respond !== "function") throw new SessionConfigError("sessionMiddleware: options.response must be a function");
  const crossSite = crossSiteCheck(options.csrf);
  return async (request) => {
    if (crossSite(request)) return answer(new CrossSiteRequestError());
    let session: Session<S>;
    try {
      // The raw Cookie header, not `request.cookies`: Next's jar keeps the last of duplicate
      // cookies and percent-decodes values, where every other adapter reads the first, as sent.
      session = await sessions.load(request.headers);
    } catch (error) {
      return answer(error);
    }
    // A plain Response (perhaps with immutable headers) becomes a NextResponse with the same
    // status, headers (x-middleware-* included) and body, so that its cookie jar can be used.
    const returned = await respond(request, session);
    const response = returned instanceof NextResponse ? returned : new NextResponse(returned.body, returned);
    let cookies: SessionCookie[];
    try {
      cookies = await commitCookies(session);
    } catch (error) {
      return answer(error); // the response of `options.response` is dropped with what it set
    }
    for (const cookie of cookies) response.cookies.set(cookie.name, cookie.value, cookie.attributes);
    response.headers.append("Vary", "Cookie");
    const marked = request.headers.has(REWRITE_MARK);
    if (cookies.length > 0 || marked) response.headers.set("Cache-Control", SESSION_CACHE_CONTROL);
    if (cookies.length > 0 && response.headers.has("x-middleware-rewrite")) markRewrite(request, response, cookies);
    return response;
  };
}

/**
 * Next serves some rewrites by proxying a new request to itself (one whose origin it does not
 * take for its own, e.g. `next start -H 127.0.0.1`), and copies that response's `Cache-Control`
 * over ours: a static page's year-long `s-maxage` would then carry the cookie. The rewritten
 * request gets a header, as `NextResponse.rewrite(url, { request: { headers } })` sets one,
 * by which this proxy answers that request with no-store too. Its `Cookie` header gets the
 * cookies this response sets, so the destination reads the session just written: Next strips
 * its own `x-middleware-set-cookie` from a proxied request.
 */
function markRewrite(request: NextRequest, response: NextResponse, cookies: readonly SessionCookie[]): void {
  const overridden = response.headers.get("x-middleware-override-headers");
  const names = new Set(overridden === null ? request.headers.keys() : overridden.split(",").filter((name) => name !== ""));
  if (overridden === null)
    for (const [name, value] of request.headers) response.headers.set(`x-middleware-request-${name}`, value);
  // An app that overrode the request headers without `cookie` dropped the cookies on purpose.
  if (overridden === null || names.has("cookie")) {
    const replaced = cookies.map((cookie) => `${cookie.name}=`);
    const kept = (response.headers.get("x-middleware-request-cookie") ?? "")
      .split(";")
      .map((pair) => pair.trim())
      .filter((pair) => pair !== "" && !replaced.some((prefix) => pair.startsWith(prefix)));
    // A clearing cookie (value "") removes the request's cookie; the core reads values as sent, unencoded.
    const sent = cookies.filter((cookie) => cookie.value !== "").map((cookie) => `${cookie.name}=${cookie.value}`);
    names.add("cookie");
    response.headers.set("x-middleware-request-cookie", [...kept, ...sent].join("; "));
  }
  names.add(REWRITE_MARK);
  response.headers.set("x-middleware-override-headers", [...names].join(","));
  response.headers.set(`x-middleware-request-${REWRITE_MARK}`, "1");
}

/**
 * Wraps a Route Handler that uses `getSession`/`saveSession`, so that it answers as every other
 * adapter does:
 * - what the handler changed and did not save is saved when it returns its response (a handler
 *   that throws, or answers 500 or more, saves nothing more: only what it saved itself stays);
 * - the response gets `Vary: Cookie`, and `Cache-Control: private, no-store` when a session cookie
 *   goes out, replacing the handler's own (a `fetch()` passthrough's `public, max-age=600`, say);
 * - once it has returned, its sessions are read-only: a change from a streamed body throws
 *   `SessionUsageError` instead of storing a session whose cookie cannot be sent;
 * - a session error (`getSession`/`saveSession`, `rotate()`) gets the core's answer
 *   (`sessionErrorResponse`: 503, 401, 413; no stack, no cookie) instead of Next's 500;
 * - a cross-site state-changing request is answered 403 before the handler runs (`csrf`).
 * @example
 * // app/api/cart/route.ts
 * export const POST = sessionRoute(async (request: NextRequest) => {
 *   const session = await getSession(sessions);
 *   session.set("cart", await request.json());
 *   return Response.json({ ok: true });
 * });
 */
export function sessionRoute<A extends unknown[]>(
  handler: (...args: A) => Response | Promise<Response>,
  options: SessionRouteOptions = {},
): (...args: A) => Promise<Response> {
  if (typeof handler !== "function") throw new SessionConfigError("sessionRoute needs a Route Handler function");
  const provide = cookieSource(options.cookies);
  const crossSite = crossSiteCheck(options.csrf);
  return async (...args) => {
    if (args[0] instanceof Request && crossSite(args[0])) return answer(new CrossSiteRequestError());
    const route: RouteState = { sessions: new Set(), wroteCookie: false, returned: false };
    routes.set(await provide(), route);
    let response: Response;
    try {
      response = await handler(...args);
      if (response.status < 500) for (const session of route.sessions) await saveSession(session);
    } catch (error) {
      const answered = answer(error);
      // Next still appends the cookies set through cookies() before the error to this answer.
      if (route.wroteCookie) answered.headers.set("Cache-Control", SESSION_CACHE_CONTROL);
      return answered;
    } finally {
      route.returned = true;
      for (const session of route.sessions) lockSession(session, RETURNED);
    }
    if (route.sessions.size === 0) return response;
    const sent = withSessionHeaders(response, []); // a copy: a fetch() response's headers are immutable
    if (route.wroteCookie) sent.headers.set("Cache-Control", SESSION_CACHE_CONTROL);
    return sent;
  };
}

/** @deprecated The former name of `sessionRoute`, which now does more than answer session errors. */
export const withSessionErrors = sessionRoute;

function cookieSource(provide: GetSessionOptions["cookies"] = nextCookies): () => NextCookies | Promise<NextCookies> {
  if (typeof provide !== "function") throw new SessionConfigError("options.cookies must be a function");
  return provide;
}

/** The core's answer to a session error, as a NextResponse; any other error is rethrown. */
function answer(error: unknown): NextResponse {
  const response = sessionErrorResponse(error);
  if (response === null) throw error;
  return new NextResponse(response.body, response);
}
