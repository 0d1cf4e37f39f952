import { parseSetCookie, type SetCookie } from "cookie";
import { cookies as nextCookies } from "next/headers.js";
import { type NextRequest, NextResponse } from "next/server.js";
import { type Session, SessionConfigError, type SessionManager, type SessionSchema, sessionErrorResponse } from "../index.js";

/** A cookie's attributes as `cookies().set(name, value, attributes)` takes them. */
export type CookieAttributes = Omit<SetCookie, "name" | "value">;

/** What the adapter needs of Next's `await cookies()` (`ReadonlyRequestCookies` fits). */
export interface NextCookies {
  get(name: string): { value: string } | undefined;
  set(name: string, value: string, attributes: CookieAttributes): unknown;
}

/** Options of `getSession`. */
export interface GetSessionOptions {
  /** Where the request's cookies come from (tests pass their own). @default `cookies` from `next/headers` */
  cookies?: () => NextCookies | Promise<NextCookies>;
}

/** Options of `sessionMiddleware`. */
export interface SessionMiddlewareOptions<S extends SessionSchema> {
  /** Your own proxy logic, given the session; the refreshed cookie is added to its response. @default NextResponse.next() */
  response?: (request: NextRequest, session: Session<S>) => NextResponse | Promise<NextResponse>;
}

/** The cookie jar each session came from, so `saveSession(session)` needs nothing else. */
const jars = new WeakMap<object, NextCookies>();

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
  const provide = options.cookies ?? nextCookies;
  if (typeof provide !== "function") throw new SessionConfigError("getSession: options.cookies must be a function");
  const jar = await provide();
  const session = await sessions.load(jar);
  jars.set(session, jar);
  return session;
}

/**
 * Saves the session and writes its cookie, when it changed, through `cookies().set` with the
 * attributes of `commit()`'s Set-Cookie. Returns whether a cookie was written (then send
 * `Cache-Control: no-store` from a Route Handler; Next does so for actions and dynamic pages).
 *
 * Server Components cannot set cookies: a save that needs a new cookie there (a new session,
 * `rotate()`, `destroy()`, a cookie-store change) throws `SessionConfigError` (R20), after the
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
  let written = false;
  for (const setCookie of await session.commit()) {
    const { name, value = "", ...attributes } = parseSetCookie(setCookie);
    const sent = jar.get(name)?.value;
    try {
      jar.set(name, value, attributes);
      written = true;
    } catch (error) {
      // Only the expiry moved and the browser's copy, which expires sooner (R16), still works.
      if (value !== "" && value === sent) continue;
      throw new SessionConfigError(
        "The session needs a new cookie, but cookies cannot be set here (a Server Component?): " +
          "save it in a Server Action or Route Handler",
        { cause: error },
      );
    }
  }
  return written;
}

/**
 * Next's `proxy` (or `middleware`): refreshes a due rolling expiry by re-setting the cookie on the
 * response, which Server Components cannot do. Sends `Vary: Cookie`, and `Cache-Control: no-store`
 * with a cookie (R18). A session error in its load or save is answered here, so the route never
 * runs: the core's `sessionErrorResponse` (503 store down, 401 session revoked or unreadable, 413
 * too large; no stack, no cookie). Run it on the Node.js runtime when the store needs Node
 * (Drizzle, PGlite).
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
  return async (request) => {
    let session: Session<S>;
    try {
      // The raw Cookie header, not `request.cookies`: Next's jar keeps the last of duplicate
      // cookies and percent-decodes values, where every other adapter reads the first, as sent.
      session = await sessions.load(request.headers);
    } catch (error) {
      return answer(error);
    }
    const response = await respond(request, session);
    let setCookies: string[];
    try {
      setCookies = await session.commit();
    } catch (error) {
      return answer(error); // the response of `options.response` is dropped with what it set
    }
    for (const setCookie of setCookies) {
      const { name, value = "", ...attributes } = parseSetCookie(setCookie);
      response.cookies.set(name, value, attributes);
    }
    response.headers.append("Vary", "Cookie");
    if (setCookies.length > 0) response.headers.set("Cache-Control", "no-store");
    return response;
  };
}

/**
 * Wraps a Route Handler so that a session error thrown by `getSession`/`saveSession` inside it
 * gets the same answer as from every adapter (`sessionErrorResponse`: 503 store down, 401 session
 * revoked or unreadable, 413 too large; no stack, no cookie) instead of Next's 500. Other errors
 * are rethrown. (Server Components and Server Actions have no status to set: catch there with
 * `sessionErrorAnswer(error)`; the proxy already answers a failed load before the page renders.)
 * @example
 * // app/api/cart/route.ts
 * export const POST = withSessionErrors(async (request: NextRequest) => {
 *   const session = await getSession(sessions);
 *   session.set("cart", await request.json());
 *   await saveSession(session);
 *   return Response.json({ ok: true }, { headers: { "Cache-Control": "no-store" } });
 * });
 */
export function withSessionErrors<A extends unknown[]>(
  handler: (...args: A) => Response | Promise<Response>,
): (...args: A) => Promise<Response> {
  if (typeof handler !== "function") throw new SessionConfigError("withSessionErrors needs a Route Handler function");
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (error) {
      return answer(error);
    }
  };
}

/** The core's answer to a session error, as a NextResponse; any other error is rethrown. */
function answer(error: unknown): NextResponse {
  const response = sessionErrorResponse(error);
  if (response === null) throw error;
  return new NextResponse(response.body, response);
}
