/**
 * The cookie store's secrets and the keys derived from them. Secrets are checked when the
 * store is created (R35, STYLE 10); keys are derived once per store, on first use, because
 * HKDF and `importKey` cost far more than the HMAC they feed (iron-session re-derives on
 * every seal and unseal, which is most of its ~670 µs per cycle).
 */
import { SessionConfigError } from "../../errors.js";
import { toBase64Url } from "./base64url.js";

/** Shortest secret accepted, in characters (R35; iron's `minPasswordlength`). */
export const MIN_SECRET_CHARS = 32;

/**
 * Key separation (R33): every key is HKDF-SHA256 of the secret under this salt and a
 * per-use `info`, so the same secret used by another purpose, another library or a raw
 * `HMAC(secret, …)` signer yields unrelated keys, and a value it signed never verifies here.
 * Changing any of these strings invalidates every cookie: they are part of the format (the
 * `v1` in them names the key schedule, unchanged by format v2).
 */
const HKDF_SALT = "tessera.cookie-session";
const INFO_MAC = "tessera.cookie-session.v1.mac";
const INFO_ENC = "tessera.cookie-session.v1.enc";
const INFO_KEY_ID = "tessera.cookie-session.v1.key-id";

/** Bytes of the key id: 6 bytes are exactly 8 base64url characters (no padding bits). */
const KEY_ID_BYTES = 6;

/** The keys of one secret. */
export interface SealKey {
  /** 8 base64url characters naming the secret inside a sealed value; reveals nothing about it. */
  readonly id: string;
  /** HMAC-SHA256 key (sign/verify), non-extractable. */
  readonly mac: CryptoKey;
  /** AES-256-GCM key (encrypt/decrypt), non-extractable. */
  readonly enc: CryptoKey;
  /** Position in `secrets`: 0 is the current secret, the only one that seals (R34). */
  readonly index: number;
}

/** Every secret's keys: the current one for sealing, all of them by id for opening. */
export interface KeyRing {
  readonly current: SealKey;
  readonly byId: ReadonlyMap<string, SealKey>;
}

/**
 * `secrets` as a list, or a `SessionConfigError`: a single string is a list of one; the list
 * must be non-empty, of strings of at least 32 characters, without duplicates (a duplicate
 * is almost always a rotation mistake, e.g. the same env variable read twice).
 */
export function normalizeSecrets(secrets: unknown): readonly string[] {
  if (typeof secrets !== "string" && !Array.isArray(secrets)) {
    throw new SessionConfigError("cookieStore: `secrets` must be a string or an array of strings");
  }
  const list: unknown[] = typeof secrets === "string" ? [secrets] : [...secrets];
  if (list.length === 0) throw new SessionConfigError("cookieStore: `secrets` is empty; give at least one secret");
  const seen = new Set<string>();
  list.forEach((secret, index) => {
    // The message names the position, never the secret itself.
    if (typeof secret !== "string") throw new SessionConfigError(`cookieStore: secrets[${index}] is not a string`);
    if (secret.length < MIN_SECRET_CHARS) {
      throw new SessionConfigError(`cookieStore: secrets[${index}] is shorter than ${MIN_SECRET_CHARS} characters`);
    }
    if (seen.has(secret)) throw new SessionConfigError(`cookieStore: secrets[${index}] repeats an earlier secret`);
    seen.add(secret);
  });
  return list as string[];
}

/** Derives every secret's keys (HKDF-SHA256, Web Crypto). Call once per store and keep the promise. */
export async function deriveKeyRing(secrets: readonly string[]): Promise<KeyRing> {
  const keys = await Promise.all(secrets.map((secret, index) => deriveKeys(secret, index)));
  const byId = new Map<string, SealKey>();
  // Two secrets sharing a 48-bit id is a 2^-48 event; the earlier (newer) secret would win
  // and the other's cookies would fail to open, i.e. the users would just log in again.
  for (const key of keys) if (!byId.has(key.id)) byId.set(key.id, key);
  return { current: keys[0]!, byId };
}

async function deriveKeys(secret: string, index: number): Promise<SealKey> {
  const subtle = globalThis.crypto.subtle;
  const encoder = new TextEncoder();
  const base = await subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey", "deriveBits"]);
  const params = (info: string): HkdfParams => ({
    name: "HKDF",
    hash: "SHA-256",
    salt: encoder.encode(HKDF_SALT),
    info: encoder.encode(info),
  });
  const [mac, enc, id] = await Promise.all([
    subtle.deriveKey(params(INFO_MAC), base, { name: "HMAC", hash: "SHA-256", length: 256 }, false, ["sign", "verify"]),
    subtle.deriveKey(params(INFO_ENC), base, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]),
    subtle.deriveBits(params(INFO_KEY_ID), base, KEY_ID_BYTES * 8),
  ]);
  return { id: toBase64Url(new Uint8Array(id)), mac, enc, index };
}
