/**
 * Session tokens: 32 CSPRNG bytes as base64url (43 characters, 256 bits). The token lives
 * only in the cookie; stores see `sha256(token)` in hex, so a leaked table or Redis dump
 * holds nothing a browser could replay. Randomness comes from Web Crypto. SHA-256 must be
 * synchronous and cheap: `crypto.subtle.digest` is async and costs ~50 µs a call in Node (a
 * thread-pool hop). Where the runtime has `node:crypto` (Node ≥ 20.16, Bun, Deno) its
 * one-shot `hash` is used (`createHash` before Node 20.12; 0.8 µs per token here); elsewhere
 * (edge runtimes, browsers) @noble/hashes (3 µs).
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
 * The store id of a session imported from another library (docs/migrating.md): sha256 of the
 * legacy session id under its own prefix. A token's id is sha256 of 43 base64url characters,
 * which never contain ":", so the two inputs never coincide and the ids collide only if SHA-256
 * does. The id alone reaches nothing: a load looks it up only after the legacy cookie's
 * signature verified (src/legacy.ts).
 */
export function legacyStoreId(sid: string): string {
  return sha256Hex(`tessera.legacy:${sid}`);
}

/**
 * The id of the marker an import leaves beside an imported session (`importLegacy`): an empty
 * shadow that lives as long as the legacy store keeps the session, so that whatever happens to
 * the imported record (claimed, revoked, destroyed, purged), a re-run of the import never brings
 * it back. Its own domain: never a token's id, never a legacy session's.
 */
export function legacyMarkerId(sid: string): string {
  return sha256Hex(`tessera.legacy-imported:${sid}`);
}

/**
 * A short tag for logs and `onEvent`: derived from the id under a separate purpose, so it
 * correlates events without revealing the token or the store key.
 */
export function sessionTag(id: string): string {
  return sha256Hex(`tessera.tag:${id}`).slice(0, 12);
}

interface NodeCrypto {
  /** One-shot digest (Node ≥ 20.12): no Hash object per call. */
  hash?(algorithm: "sha256", text: string, encoding: "hex"): string;
  createHash(algorithm: "sha256"): { update(text: string): { digest(encoding: "hex"): string } };
}

// getBuiltinModule, not an import: the core must load on runtimes that have no node:crypto.
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  "node:crypto",
) as NodeCrypto | undefined;

function pickSha256Hex(crypto: NodeCrypto | undefined): (text: string) => string {
  if (crypto === undefined) return (text) => bytesToHex(sha256(utf8ToBytes(text)));
  const { hash } = crypto;
  if (hash !== undefined) return (text) => hash("sha256", text, "hex");
  return (text) => crypto.createHash("sha256").update(text).digest("hex");
}

const sha256Hex = pickSha256Hex(nodeCrypto);

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
