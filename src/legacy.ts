import { clearingCookie, resolveCookie, type SessionCookie } from "./cookie.js";
import { SessionConfigError } from "./errors.js";

/**
 * The cookie of the session library an app comes from (`expressSessionCookie` in
 * `tesserae/express-session`), given to `defineSession({ legacy })`. On a request without a
 * Tessera cookie, a legacy cookie whose signature verifies leads to the session imported under
 * its id (`tesserae import`), which the request's commit rotates to a Tessera token: the legacy
 * cookie is accepted once (docs/migrating.md).
 */
export interface LegacyCookie {
  /** The legacy cookie's name (express-session: `connect.sid`). */
  readonly name: string;
  /** Its `Path` and `Domain`, so that the clearing cookie replaces it. */
  readonly path: string;
  readonly domain: string | undefined;
  /**
   * For how many seconds after its claim the legacy cookie still reaches the session it was
   * traded for (a page and its XHRs sent with it at once all see the user; their writes land in
   * the new session, as patches, without a cookie; identity changes are refused, as through a
   * `rotationGrace` shadow). 0: a used legacy cookie reaches nothing at once. @default 20
   */
  readonly followSeconds?: number | undefined;
  /**
   * The legacy session id a cookie value (as the Cookie header carries it, still encoded)
   * names, when its signature verifies with one of the secrets; null otherwise. Never throws.
   */
  verify(value: string): string | null;
}

/**
 * The default of `LegacyCookie.followSeconds`: for this long after a legacy cookie's claim, the
 * same cookie still reaches the session it was traded for, as an old token does within
 * `rotationGrace` (docs/decisions.md, issue 15.5).
 */
export const LEGACY_FOLLOW_SECONDS = 20;
/** The longest follow window accepted: it only needs to cover a page's requests in flight. */
const MAX_FOLLOW_SECONDS = 300;

/** What the core keeps of a `legacy` option: the cookie and the header that clears it. */
export interface ResolvedLegacy {
  cookie: LegacyCookie;
  clearing: SessionCookie;
  /** `followSeconds`, in ms. */
  followMs: number;
}

/** Checks the `legacy` option at start-up (`SessionConfigError`). */
export function resolveLegacy(legacy: unknown, sessionCookieName: string): ResolvedLegacy | undefined {
  if (legacy === undefined) return undefined;
  const candidate = legacy as Partial<LegacyCookie> | null;
  if (typeof candidate !== "object" || candidate === null || typeof candidate.verify !== "function") {
    throw new SessionConfigError("legacy must be a legacy cookie such as expressSessionCookie({ secrets })");
  }
  if (typeof candidate.name !== "string" || typeof candidate.path !== "string") {
    throw new SessionConfigError("legacy must be a legacy cookie such as expressSessionCookie({ secrets })");
  }
  if (candidate.name === sessionCookieName) {
    throw new SessionConfigError("legacy: the legacy cookie cannot have the session cookie's name");
  }
  const follow = candidate.followSeconds ?? LEGACY_FOLLOW_SECONDS;
  if (typeof follow !== "number" || !Number.isFinite(follow) || follow < 0 || follow > MAX_FOLLOW_SECONDS) {
    throw new SessionConfigError(`legacy: followSeconds must be a number of seconds from 0 to ${MAX_FOLLOW_SECONDS}`);
  }
  // The clearing cookie goes through the same checks as the session cookie's attributes.
  const resolved = resolveCookie({
    name: candidate.name,
    path: candidate.path,
    // A browser ignores a __Secure-/__Host- Set-Cookie without Secure: such a legacy cookie could
    // never be cleared. Any other keeps Secure off, so the clear works on plain HTTP too.
    secure: candidate.name.startsWith("__Secure-") || candidate.name.startsWith("__Host-"),
    ...(candidate.domain === undefined ? {} : { domain: candidate.domain }),
  });
  return { cookie: candidate as LegacyCookie, clearing: clearingCookie(resolved), followMs: follow * 1000 };
}
