import { readCookie } from "./cookie.js";

/** A cookie jar such as Next.js's `cookies()`: anything with `get(name) → { value } | undefined`. */
export interface CookieJar {
  get(name: string): { value: string } | undefined;
}

/** Where `load()` finds the session cookie: a Cookie header string, a `Request`, a `Headers` or a cookie jar. */
export type SessionSource = string | Request | Headers | CookieJar | null | undefined;

/** The raw cookie value from any supported source, or undefined. Never reads URL, query or body (R10). */
export function cookieValue(source: SessionSource, name: string): string | undefined {
  if (source === null || source === undefined) return undefined;
  if (typeof source === "string") return readCookie(source, name);
  if (source instanceof Request) return fromHeaders(source.headers, name);
  if (source instanceof Headers) return fromHeaders(source, name);
  return source.get(name)?.value;
}

function fromHeaders(headers: Headers, name: string): string | undefined {
  const header = headers.get("cookie");
  return header === null ? undefined : readCookie(header, name);
}
