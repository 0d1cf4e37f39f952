import { parseCookie, stringifySetCookie } from "cookie";
import { SessionConfigError } from "./errors.js";
import { utf8Length } from "./utf8.js";

/** The session cookie's attributes. Defaults follow OWASP: only `secure` is worth turning off, and only in development. */
export interface CookieOptions {
  /**
   * Cookie name. A `__Host-` name forces `Secure`, `Path=/` and no `Domain`.
   * @default "__Host-sid" when `secure` is on, `path` is "/" and there is no `domain` (B15: a sibling
   * sub-domain cannot set or shadow a `__Host-` cookie); else "sid"
   */
  name?: string;
  /** Send only over HTTPS. Turn off only for plain-HTTP development. @default true */
  secure?: boolean;
  /** Hide the cookie from page scripts. @default true */
  httpOnly?: boolean;
  /** Cross-site policy, always emitted. `"none"` requires `secure`. @default "lax" */
  sameSite?: "lax" | "strict" | "none";
  /** @default "/" */
  path?: string;
  /** Leave unset (host-only cookie) unless sub-domains must share the session. @default undefined */
  domain?: string;
  /** CHIPS partitioned cookie. @default false */
  partitioned?: boolean;
}

/** Cookie options with every default applied and checked. */
export interface ResolvedCookie {
  name: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: "lax" | "strict" | "none";
  path: string;
  domain: string | undefined;
  partitioned: boolean;
}

/** Browsers cap cookie lifetimes at 400 days (RFC 6265bis); asking for more is ignored by them. */
const MAX_COOKIE_AGE_SECONDS = 400 * 86400;
/** name=value plus attributes beyond this is dropped silently by browsers (R19). */
export const MAX_COOKIE_BYTES = 4096;

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const ATTRIBUTE_CHARS = /^[\u0021-\u003A\u003C-\u007E]+$/;

/** Applies defaults and enforces the rules browsers and OWASP set; throws `SessionConfigError`. */
export function resolveCookie(options: CookieOptions = {}): ResolvedCookie {
  const secure = options.secure ?? true;
  const path = options.path ?? "/";
  const resolved: ResolvedCookie = {
    name: options.name ?? defaultName(secure, path, options.domain),
    secure,
    httpOnly: options.httpOnly ?? true,
    sameSite: options.sameSite ?? "lax",
    path,
    domain: options.domain,
    partitioned: options.partitioned ?? false,
  };
  if (!TOKEN_CHARS.test(resolved.name)) throw new SessionConfigError("cookie.name is not a valid cookie name");
  if (!ATTRIBUTE_CHARS.test(resolved.path)) throw new SessionConfigError("cookie.path has characters not allowed in a cookie");
  if (resolved.domain !== undefined && !ATTRIBUTE_CHARS.test(resolved.domain)) {
    throw new SessionConfigError("cookie.domain has characters not allowed in a cookie");
  }
  if (!["lax", "strict", "none"].includes(resolved.sameSite)) {
    throw new SessionConfigError('cookie.sameSite must be "lax", "strict" or "none"');
  }
  if (resolved.sameSite === "none" && !resolved.secure) {
    throw new SessionConfigError('cookie.sameSite "none" requires secure: true (browsers reject it otherwise)');
  }
  if (resolved.name.startsWith("__Host-") && (!resolved.secure || resolved.path !== "/" || resolved.domain !== undefined)) {
    throw new SessionConfigError('a __Host- cookie must be secure, have path "/" and no domain');
  }
  if (resolved.name.startsWith("__Secure-") && !resolved.secure) {
    throw new SessionConfigError("a __Secure- cookie must be secure");
  }
  if (resolved.partitioned && !resolved.secure) throw new SessionConfigError("a partitioned cookie must be secure");
  return resolved;
}

/**
 * B15 (cookie tossing): a plain `sid` can be set for our host by any sibling sub-domain (with
 * `Domain=` the parent) or, without `Secure`, by a plain-HTTP response, and the browser sends
 * both; a `__Host-` cookie can only be set by this very host over HTTPS, with `Path=/`. So the
 * default takes the prefix whenever the other attributes allow it (DESIGN §1).
 */
function defaultName(secure: boolean, path: string, domain: string | undefined): string {
  return secure && path === "/" && domain === undefined ? "__Host-sid" : "sid";
}

/**
 * An upper bound, in bytes, of the Set-Cookie value `serializeSessionCookie` gives for a value
 * of `valueChars` ASCII characters, at any instant with a four-digit year: with `persistent`,
 * counted with the longest `Max-Age` (400 days) and an `Expires` date; without, neither is sent.
 * Lets the core refuse at `set()` a cookie that would not fit at commit (B8).
 */
export function sessionCookieBytesBound(cookie: ResolvedCookie, valueChars: number, persistent: boolean): number {
  const empty = persistent
    ? serialize(cookie, "", MAX_COOKIE_AGE_SECONDS, SAMPLE_EXPIRES)
    : serialize(cookie, "", undefined, undefined);
  return utf8Length(empty) + valueChars;
}

/** Any date with a four-digit year: `Expires` is then always 29 characters (an RFC 7231 IMF-fixdate). */
const SAMPLE_EXPIRES = new Date(Date.UTC(2026, 0, 1));

/** The attributes of a session cookie, as frameworks' cookie APIs (Next's `cookies().set`) take them. */
export interface SessionCookieAttributes {
  path: string;
  domain?: string;
  secure: boolean;
  httpOnly: boolean;
  sameSite: "lax" | "strict" | "none";
  partitioned?: true;
  /** Absent on a browser-session cookie (`setExpiry(0)`). */
  maxAge?: number;
  expires?: Date;
}

/**
 * A cookie the session sends, in both shapes an adapter may need: the parts, for a framework
 * that sets cookies through its own API, and `header`, the serialized `Set-Cookie` value.
 */
export interface SessionCookie {
  name: string;
  /** The token (or sealed record); "" for the cookie that clears the session. */
  value: string;
  attributes: SessionCookieAttributes;
  header: string;
  /**
   * A cookie-cache snapshot, or the cookie clearing one. `"optional"`: the session works without
   * it (a load without a snapshot reads the store), so a response that can no longer set cookies
   * drops it. `"required"`: this request wrote data to a session loaded from the snapshot the
   * browser holds, which must be replaced or cleared, or the browser's next read-modify-write
   * would start from it and undo the write.
   */
  snapshot?: "optional" | "required";
}

/**
 * The cookie carrying a token. `maxAgeSeconds` null makes a browser-session cookie
 * (no Max-Age, no Expires: Django's `set_expiry(0)`).
 */
export function sessionCookie(cookie: ResolvedCookie, token: string, maxAgeSeconds: number | null, now: Date): SessionCookie {
  if (maxAgeSeconds === null) return build(cookie, token, undefined, undefined);
  // Floor, so the browser forgets the cookie no later than the server forgets the session (R16).
  const age = Math.max(0, Math.min(MAX_COOKIE_AGE_SECONDS, Math.floor(maxAgeSeconds)));
  return build(cookie, token, age, new Date(now.getTime() + age * 1000));
}

/** The cookie that deletes the session cookie: same name, path and domain, Max-Age=0 and a past Expires (R17). */
export function clearingCookie(cookie: ResolvedCookie): SessionCookie {
  return build(cookie, "", 0, new Date(0));
}

/**
 * The value of cookie `name` in a Cookie header, or undefined. When the header carries the name
 * more than once, the first occurrence wins (B15, docs/security.md): browsers list cookies with
 * longer paths first, then older ones first (RFC 6265 §5.4).
 */
export function readCookie(header: string, name: string): string | undefined {
  // Identity decode: tokens are base64url, so a %-sequence can only be junk, and junk must not become a valid-looking token.
  return parseCookie(header, { decode: (value) => value })[name];
}

function build(cookie: ResolvedCookie, value: string, maxAge: number | undefined, expires: Date | undefined): SessionCookie {
  const attributes: SessionCookieAttributes = {
    path: cookie.path,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    sameSite: cookie.sameSite,
    ...(cookie.domain === undefined ? {} : { domain: cookie.domain }),
    ...(cookie.partitioned ? { partitioned: true as const } : {}),
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(expires === undefined ? {} : { expires }),
  };
  return { name: cookie.name, value, attributes, header: stringifySetCookie({ name: cookie.name, value, ...attributes }) };
}

function serialize(cookie: ResolvedCookie, value: string, maxAge: number | undefined, expires: Date | undefined): string {
  return build(cookie, value, maxAge, expires).header;
}
