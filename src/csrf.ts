/**
 * The cross-site request check every adapter runs before it loads a session (issue 12.4), with
 * the algorithm of Go 1.25's `http.CrossOriginProtection` (also Rails' and Django's Origin check).
 * SameSite=Lax keeps the cookie off cross-site POSTs but not off same-site ones (a sibling
 * subdomain is "same site"), and a `multipart/form-data` POST needs no CORS preflight, so state
 * changing requests need this check on top. Pure: only `Headers`/`URL`, no framework.
 */
import { SessionConfigError } from "./errors.js";

/** The adapters' `csrf` option: off, or on with the origins trusted beyond the request's own. */
export type CsrfOption = false | CsrfOptions;

/** Options of the cross-site request check. */
export interface CsrfOptions {
  /**
   * Other origins whose browsers may send state-changing requests, each `scheme://host[:port]`
   * as a browser writes its `Origin` header (`https://admin.example.com`,
   * `http://localhost:5173`): no path, query or fragment. Matched exactly (scheme, host and
   * port); `https://app.example` does not trust `http://app.example` or `https://app.example:8443`.
   * @default [] (only the request's own host)
   */
  trustedOrigins?: readonly string[];
}

/** The headers of a request: a Web `Headers`, or Node's `IncomingHttpHeaders` (lower-case names). */
export type CsrfHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** What the check reads from a request; a Web `Request` fits as is. */
export interface CsrfRequest {
  /** The method as sent: methods are case-sensitive, so only upper-case `GET`/`HEAD`/`OPTIONS` are safe. */
  method: string;
  headers: CsrfHeaders;
  /** The absolute URL, read only for its host when the request has no `Host` header. */
  url?: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * An origin as browsers serialize it: a scheme, `://` and a host with an optional port, nothing
 * else. Anything another shape (a path, two joined `Origin` headers, garbage) matches no host.
 */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/([^/?#@\s,]+)$/i;

/**
 * Builds the check once, validating `trustedOrigins` at start-up (a `SessionConfigError` for an
 * origin a browser could never send). The returned function says whether `request` is a
 * cross-site state-changing request to refuse; with `false` it never refuses.
 * @example
 * const crossSite = crossSiteCheck({ trustedOrigins: ["https://admin.example.com"] });
 * if (crossSite(request)) return sessionErrorResponse(new CrossSiteRequestError());
 */
export function crossSiteCheck(option: CsrfOption | undefined): (request: CsrfRequest) => boolean {
  if (option === false) return () => false;
  const trusted = new Set((option?.trustedOrigins ?? []).map(trustedOrigin));
  return (request) => isCrossSite(request, trusted);
}

/**
 * True when `request` is a cross-site state-changing request (see `crossSiteCheck`, which
 * validates the options once; this validates them on every call).
 * @example if (crossSiteRequest(request)) throw new CrossSiteRequestError();
 */
export function crossSiteRequest(request: CsrfRequest, options?: CsrfOptions): boolean {
  return crossSiteCheck(options ?? {})(request);
}

function isCrossSite(request: CsrfRequest, trusted: ReadonlySet<string>): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  const origin = header(request.headers, "origin");
  const exempt = origin !== null && trusted.has(origin);
  const site = header(request.headers, "sec-fetch-site");
  // Every browser since 2023 sends Sec-Fetch-Site, and it cannot be forged by a page: it decides.
  if (site !== null) return site !== "same-origin" && site !== "none" && !exempt;
  // No Sec-Fetch-Site and no Origin: not a browser (curl, a server), or a same-origin request of
  // an old browser. A cookie-less client cannot ride a victim's session, so it passes.
  if (origin === null) return false;
  const host = requestHost(request);
  const originHost = ORIGIN.exec(origin)?.[1];
  // Host carries no scheme, so http→https is taken as same-origin (fails open as Go does;
  // HSTS closes it). Host names are case-insensitive; `Origin: null` matches nothing.
  if (host !== null && originHost !== undefined && originHost.toLowerCase() === host.toLowerCase()) return false;
  return !exempt;
}

/** The request's host and port: `Host`, else HTTP/2's `:authority`, else the URL's. */
function requestHost(request: CsrfRequest): string | null {
  // `Headers` refuses the name ":authority"; only Node's header records carry it.
  const authority = isHeaders(request.headers) ? null : header(request.headers, ":authority");
  const host = header(request.headers, "host") ?? authority;
  if (host !== null) return host;
  if (request.url === undefined) return null;
  return URL.canParse(request.url) ? new URL(request.url).host || null : null;
}

/** One header's value, duplicates joined with ", " (as `Headers` and Node do), or null when absent or empty. */
function header(headers: CsrfHeaders, name: string): string | null {
  const value = isHeaders(headers) ? headers.get(name) : joined(headers[name]);
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === "" ? null : trimmed;
}

function joined(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === "string" || value === undefined ? value : value.join(", ");
}

function isHeaders(headers: CsrfHeaders): headers is Headers {
  return typeof (headers as { get?: unknown }).get === "function";
}

/**
 * A trusted origin in the form a browser sends, or a `SessionConfigError`: an entry with a path,
 * a query or different casing would silently never match, leaving the site refused.
 */
function trustedOrigin(origin: string): string {
  const url = URL.canParse(origin) ? new URL(origin) : null;
  if (url === null || !/^https?:$/.test(url.protocol) || url.origin !== origin) {
    const hint = url === null || url.origin === "null" ? "" : ` (did you mean "${url.origin}"?)`;
    throw new SessionConfigError(
      `csrf.trustedOrigins: "${origin}" is not an origin as browsers send it, scheme://host[:port]${hint}`,
    );
  }
  return origin;
}
