import type { SessionCookie } from "./cookie.js";
import { isTesseraError, type SessionStoreError } from "./errors.js";
import type { SessionSchema } from "./schema.js";
import { type Session, sessionInternals } from "./session.js";

/*
 * The adapters' kit: what `tesserae/express`, `/hono`, `/fetch`, `/next` and `/trpc` need from
 * a session beyond its public API. Internal to the package: no entry point exports it, so it is
 * not part of the API users see, and a custom adapter needs none of it (`session.commit()`).
 */

export type { SessionCookie, SessionCookieAttributes } from "./cookie.js";
// Only the package's adapters use it (their default `onStoreError`); users answer a store
// outage with the public `sessionErrorResponse(error)`, which gives the same 503.
export { storeUnavailableResponse } from "./response-headers.js";

type AnySession = Session<SessionSchema>;
// A session of any schema: the kit reads none of its data.
const any = (session: object) => session as AnySession;

/** `session.commit()`, with each cookie given as its parts (name, value, attributes) and its serialized header. */
export function commitCookies(session: object): Promise<SessionCookie[]> {
  return sessionInternals.commitCookies(any(session));
}

/**
 * The response that carries the session's cookie has started: from now on every change throws
 * `SessionUsageError` (`rotate`/`destroy` reject with it) instead of being silently lost (R20).
 * `save()` and `commit()` stay available.
 */
export function lockSession(session: object, reason: string): void {
  sessionInternals.lock(any(session), reason);
}

/** `commit()` at this instant would write nothing and send no `Set-Cookie`, so a response need not wait for it. */
export function isSettled(session: object): boolean {
  return sessionInternals.isSettled(any(session));
}

/** The store could not be reached (`STORE_UNAVAILABLE`): the adapters' `onStoreError` answers it. By code, not `instanceof`: a custom store may import another copy of the package. */
export function isStoreUnavailable(error: unknown): error is SessionStoreError {
  return isTesseraError(error) && error.code === "STORE_UNAVAILABLE";
}

/**
 * Whether a response that can no longer set cookies (a Server Component, a streamed tRPC
 * response) may drop `cookie` (`sent`: the session cookie's value as the request carried it):
 * a refresh that only moves the expiry of that same token (the browser's copy keeps working
 * until it expires, no later than the server's, R16), or an `"optional"` cookie-cache snapshot
 * or its clearing (without it a load reads the store). A new token, a clearing session cookie or
 * a `"required"` snapshot (after a write to a session loaded from the browser's snapshot) may not.
 */
export function isDispensable(cookie: SessionCookie, sent: string | undefined): boolean {
  if (cookie.snapshot !== undefined) return cookie.snapshot === "optional";
  return cookie.value !== "" && cookie.value === sent;
}

/**
 * The session was loaded from a cookie-cache snapshot the browser holds: a data write must be able
 * to replace or clear that snapshot, so where no cookie can be set any more (a streamed tRPC
 * response) it is refused before the store is touched.
 */
export function loadedFromSnapshot(session: object): boolean {
  return sessionInternals.loadedFromSnapshot(any(session));
}

/** The name of the session's cookie-cache snapshot cookie, or null without `cookieCache`. */
export function snapshotCookie(session: object): string | null {
  return sessionInternals.snapshotCookie(any(session));
}

/** Makes `view`, an adapter's proxy of `session` (tRPC's per-procedure view), usable wherever the session is (`revoke({ except })`, the kit). */
export function aliasSession(view: object, session: object): void {
  sessionInternals.alias(view, any(session));
}

/** The session was loaded through a legacy cookie (`legacy`) and its commit would claim it (rotate it to a Tessera token). */
export function legacyPending(session: object): boolean {
  return sessionInternals.legacyPending(any(session));
}

/**
 * The response cannot deliver a new cookie: a session loaded through a legacy cookie is not
 * claimed by its commit, so the old cookie keeps leading to it. `"abandoned"`: the client hung up,
 * the commit saves and sends nothing; `"no-cookies"` (a streamed response, a Server Component):
 * reads work, a commit with changes throws `SessionUsageError` before anything is stored.
 */
export function holdLegacy(session: object, why: "abandoned" | "no-cookies"): void {
  sessionInternals.holdLegacy(any(session), why);
}

/** The session cookie's name (a session loaded through a legacy cookie has none yet). */
export function sessionCookieName(session: object): string {
  return sessionInternals.cookieName(any(session));
}
