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
   * The legacy session id a cookie value (as the Cookie header carries it, still encoded)
   * names, when its signature verifies with one of the secrets; null otherwise. Never throws.
   */
  verify(value: string): string | null;
}

/** What the core keeps of a `legacy` option: the cookie and the header that clears it. */
export interface ResolvedLegacy {
  cookie: LegacyCookie;
  clearing: SessionCookie;
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
  // The clearing cookie goes through the same checks as the session cookie's attributes.
  const resolved = resolveCookie({
    name: candidate.name,
    path: candidate.path,
    secure: false,
    ...(candidate.domain === undefined ? {} : { domain: candidate.domain }),
  });
  return { cookie: candidate as LegacyCookie, clearing: clearingCookie(resolved) };
}
