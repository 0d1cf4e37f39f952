import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { utf8ToBytes } from "@noble/hashes/utils.js";
import type { LegacyCookie } from "../index.js";
import { SessionConfigError } from "../index.js";

/** Options of `expressSessionCookie`: express-session's `name`, `secret` and `cookie.path`/`cookie.domain`. */
export interface ExpressSessionCookieOptions {
  /** express-session's `secret`: the current one first, then the ones it still accepted. Every one verifies. */
  secrets: string | readonly string[];
  /** express-session's `name`. @default "connect.sid" */
  name?: string;
  /** express-session's `cookie.path`. @default "/" */
  path?: string;
  /** express-session's `cookie.domain`. @default undefined */
  domain?: string;
  /**
   * For how many seconds after its first use the old cookie still reaches the session it was
   * traded for (a page and its XHRs sent with it at once all see the user); 0 to end it at once.
   * @default 20
   */
  followSeconds?: number;
}

/**
 * The longest cookie value looked at. express-session's is `s%3A` + a 32-character id + "." + a
 * 43-character signature (~82); a custom `genid` may make it longer, never kilobytes. Anything
 * past this is junk and is refused before any HMAC is computed.
 */
const MAX_VALUE_CHARS = 1024;
/** base64 of a SHA-256 HMAC without its "=": what cookie-signature appends after the ".". */
const SIGNATURE_CHARS = 43;

/**
 * express-session's signed cookie (`connect.sid`), for `defineSession({ legacy })`: its value is
 * `s:` + the session id + "." + base64(HMAC-SHA256(secret, id)) without "=" padding (the
 * cookie-signature package), URL-encoded in the cookie. `verify` accepts it when one of
 * `secrets` produced that signature (compared in constant time) and returns the session id;
 * an unsigned, forged, truncated, oversized or undecodable value gives null.
 * @example
 * export const sessions = defineSession({
 *   schema, store,
 *   legacy: expressSessionCookie({ secrets: [process.env.OLD_SESSION_SECRET!] }),
 * });
 */
export function expressSessionCookie(options: ExpressSessionCookieOptions): LegacyCookie {
  if (typeof options !== "object" || options === null) {
    throw new SessionConfigError("expressSessionCookie needs an options object with secrets");
  }
  const list = typeof options.secrets === "string" ? [options.secrets] : options.secrets;
  if (!Array.isArray(list) || list.length === 0 || !list.every((secret) => typeof secret === "string" && secret !== "")) {
    throw new SessionConfigError("expressSessionCookie: secrets must be a non-empty string or a non-empty array of them");
  }
  const keys = list.map((secret) => utf8ToBytes(secret));
  return {
    name: options.name ?? "connect.sid",
    path: options.path ?? "/",
    domain: options.domain,
    followSeconds: options.followSeconds,
    verify(value: string): string | null {
      const text = decode(value);
      if (text === null || !text.startsWith("s:")) return null;
      const signed = text.slice(2);
      const dot = signed.lastIndexOf(".");
      if (dot <= 0) return null;
      const sid = signed.slice(0, dot);
      const signature = signed.slice(dot + 1);
      if (signature.length !== SIGNATURE_CHARS) return null;
      const given = utf8ToBytes(signature);
      const message = utf8ToBytes(sid);
      // Every secret is tried, whichever matches, so the time taken does not tell which one did.
      let valid = false;
      for (const key of keys) valid = equal(utf8ToBytes(base64(hmac(sha256, key, message))), given) || valid;
      return valid ? sid : null;
    },
  };
}

/** The cookie value URL-decoded as express-session's cookie parser does; null for junk. */
function decode(raw: string): string | null {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_VALUE_CHARS) return null;
  // express-session's parser (cookie@0.7) strips one pair of surrounding double quotes, so a
  // quoted `connect.sid="s%3A…"` verified there: it does here too (this cookie only).
  const value = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  if (value.length === 0) return null;
  let text: string;
  try {
    text = value.includes("%") ? decodeURIComponent(value) : value;
  } catch {
    return null; // a malformed or lone-surrogate %-sequence
  }
  // No well-formed UTF-16 check is needed beyond this: a lone surrogate cannot come out of a
  // signature check (utf8ToBytes replaces it) and the HMAC over the id decides.
  return text;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/=+$/, "");
}

interface NodeCrypto {
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

// getBuiltinModule, not an import: this module must load on runtimes without node:crypto.
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  "node:crypto",
) as NodeCrypto | undefined;

/** Constant-time equality: node:crypto's `timingSafeEqual` where there is one, else the same XOR fold. */
function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  if (nodeCrypto !== undefined) return nodeCrypto.timingSafeEqual(a, b);
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
