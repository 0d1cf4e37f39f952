/**
 * Session tokens: 32 CSPRNG bytes as base64url (43 characters, 256 bits). The token lives
 * only in the cookie; stores see `sha256(token)` in hex, so a leaked table or Redis dump
 * holds nothing a browser could replay. Web Crypto only, so the core runs on any runtime.
 */

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
export async function hashToken(token: string): Promise<string> {
  return sha256Hex(token);
}

/**
 * A short tag for logs and `onEvent`: derived from the id under a separate purpose, so it
 * correlates events without revealing the token or the store key.
 */
export async function sessionTag(id: string): Promise<string> {
  return (await sha256Hex(`tessera.tag:${id}`)).slice(0, 12);
}

async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  let hex = "";
  for (const byte of digest) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
