/**
 * What adapters send, decided once here so that no adapter decides it (R18, B6): the headers of
 * every Web-standard response that carries a session (each `Set-Cookie`, `Cache-Control: private,
 * no-store` whenever a cookie goes out, `Cookie` added to `Vary`), and the answer to the session's own
 * errors. Pure functions of `Response`/`Headers`; adapters only translate.
 */
import { type ErrorCode, isTesseraError } from "./errors.js";

/**
 * The `Cache-Control` of every response that carries a session `Set-Cookie` (a new token, a
 * refresh or a clearing cookie), replacing whatever the application or framework set: a shared
 * cache (CDN, proxy) must never store a token and serve it to someone else (issue 12.2).
 */
export const SESSION_CACHE_CONTROL = "private, no-store";

/**
 * A copy of `response` with the session headers, because a handler's response may have
 * immutable headers (`Response.redirect`, an upstream `fetch`) or be shared between requests.
 * A status below 200 (a WebSocket upgrade) cannot be copied and is decorated in place.
 * @example return withSessionHeaders(await handler(request, session), await session.commit());
 */
export function withSessionHeaders(response: Response, cookies: readonly string[]): Response {
  const inPlace = response.status < 200;
  const headers = inPlace ? response.headers : new Headers(response.headers);
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  if (cookies.length > 0) headers.set("Cache-Control", SESSION_CACHE_CONTROL);
  headers.set("Vary", varyCookie(headers.get("Vary")));
  if (inPlace) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/** The HTTP status of a session error an adapter answers itself. */
export type SessionErrorStatus = 401 | 403 | 413 | 503;

/** How an adapter answers a session error: the status and the fixed text sent for it. */
export interface SessionErrorAnswer {
  status: SessionErrorStatus;
  /** The whole body (or tRPC's message): a reason phrase, never the error's message or stack. */
  message: string;
}

/**
 * The errors an adapter answers itself, and how (docs/adapters.md). The others (`CONFIG`,
 * `SESSION_USAGE`, `SESSION_VALIDATION`) are the application's to handle and take the
 * framework's error path.
 * - `STORE_UNAVAILABLE`: the store is down or too slow; retrying later may work.
 * - `SESSION_INTERRUPTED`: the session was revoked, destroyed or expired elsewhere while this
 *   request held it; nothing was written. The client is logged out: retrying cannot succeed.
 * - `SESSION_CORRUPT`: the record cannot be read; the next load deletes it and starts a fresh
 *   session, so to the client the session ended exactly as an interrupted one did.
 * - `SESSION_TOO_LARGE`: the write would grow the record past `maxBytes` (at commit: another
 *   request grew it meanwhile); nothing was written. The same request would fail again.
 * - `CROSS_SITE_REQUEST`: a state-changing request from another site (src/csrf.ts), refused
 *   before the session is loaded.
 */
const answers: Partial<Record<ErrorCode, SessionErrorAnswer>> = {
  STORE_UNAVAILABLE: { status: 503, message: "Service Unavailable" },
  SESSION_INTERRUPTED: { status: 401, message: "Unauthorized" },
  SESSION_CORRUPT: { status: 401, message: "Unauthorized" },
  SESSION_TOO_LARGE: { status: 413, message: "Payload Too Large" },
  CROSS_SITE_REQUEST: { status: 403, message: "Forbidden" },
};

/**
 * The status and text an adapter answers `error` with (a Tessera error from `load` or `commit`),
 * or null when the error is not one it answers (rethrow it). For frameworks that do not speak
 * `Response` (tRPC maps the status to its own codes).
 * @example const answer = sessionErrorAnswer(error); if (answer === null) throw error; res.status(answer.status);
 */
export function sessionErrorAnswer(error: unknown): SessionErrorAnswer | null {
  const answer = isTesseraError(error) ? answers[error.code] : undefined;
  return answer === undefined ? null : { ...answer };
}

/**
 * The response to a session error from `load` or `commit` (see `sessionErrorAnswer`), or null
 * when the application should handle `error`: a fixed text body (no message, no stack), no
 * `Set-Cookie` (a store outage must not replace the client's cookie, R49; a cleared cookie could
 * log out a newer cookie the browser got from a concurrent login's rotation), `Cache-Control:
 * no-store` and `Vary: Cookie`.
 * @example
 * const response = sessionErrorResponse(error);
 * if (response === null) throw error;
 * return response;
 */
export function sessionErrorResponse(error: unknown): Response | null {
  const answer = sessionErrorAnswer(error);
  return answer === null ? null : plainResponse(answer);
}

/**
 * The default answer when the store is down (R48): a bare 503, no stack trace, not cached. The
 * adapters' default `onStoreError`, reached through the adapter kit; users get the same answer
 * from `sessionErrorResponse(error)`.
 */
export function storeUnavailableResponse(): Response {
  return plainResponse(answers.STORE_UNAVAILABLE as SessionErrorAnswer);
}

function plainResponse({ status, message }: SessionErrorAnswer): Response {
  return new Response(message, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", Vary: "Cookie" },
  });
}

/** Adds `Cookie` to a Vary list unless it is there already or the list is `*`. */
function varyCookie(vary: string | null): string {
  if (vary === null || vary.trim() === "") return "Cookie";
  const fields = vary.split(",").map((field) => field.trim().toLowerCase());
  return fields.includes("*") || fields.includes("cookie") ? vary : `${vary}, Cookie`;
}
