/**
 * Session tokens: 32 CSPRNG bytes as base64url (43 characters, 256 bits). The token lives
 * only in the cookie; stores see `sha256(token)` in hex, so a leaked table or Redis dump
 * holds nothing a browser could replay. Randomness comes from Web Crypto; SHA-256 from
 * @noble/hashes, because `crypto.subtle.digest` is async and costs ~50 µs a call in Node (a
 * thread-pool hop), which was the largest cost of a session load. Both run on any runtime.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** A fresh token from the platform CSPRNG. */
export function createToken(): string {
  const bytes = new Uint8Array(TOKEN_BYTES);
  crypto.getRandomValues(bytes);
  return toBase64Url(bytes);
}

/**
 * Whether a cookie value has the exact shape of a token. Checked before any store I/O so
 * that junk, truncated or oversized values never reach a query (R7).
 */
export function isWellFormedToken(value: string): boolean {
  return value.length === 43 && TOKEN_PATTERN.test(value);
}

/** The store id of a token: sha256, lowercase hex. */
export function hashToken(token: string): string {
  return sha256Hex(token);
}

/**
 * A short tag for logs and `onEvent`: derived from the id under a separate purpose, so it
 * correlates events without revealing the token or the store key.
 */
export function sessionTag(id: string): string {
  return sha256Hex(`tessera.tag:${id}`).slice(0, 12);
}

function sha256Hex(text: string): string {
  return bytesToHex(sha256(utf8ToBytes(text)));
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
