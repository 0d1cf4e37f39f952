import { SessionConfigError, SessionTooLargeError } from "../../errors.js";
import type { CookieSessionStore, JsonValue, StoredData, StoredEntry, StoredSession } from "../../store.js";
import type { Bytes } from "./base64url.js";
import { deriveKeyRing, type KeyRing, normalizeSecrets } from "./keys.js";
import {
  MAX_PLAINTEXT_BYTES,
  MAX_VALUE_CHARS,
  nodeDeflate,
  openSealed,
  type SealMode,
  type SyncDeflate,
  sealedLength,
  sealParts,
} from "./seal.js";

/** Options of `cookieStore`. */
export interface CookieStoreOptions {
  /**
   * `[current, ...previous]`, or one secret. Each is at least 32 characters of high-entropy
   * text (e.g. `openssl rand -base64 32`), unique in the list. Only the first seals; every one
   * opens, and a cookie opened by a previous one is re-sealed with the current one. To rotate,
   * put the new secret first and drop the old one once every cookie it sealed has expired.
   */
  secrets: string | readonly string[];
  /**
   * Encrypt the record (AES-256-GCM) as well as signing it. Without it the cookie is signed
   * but readable by anyone who holds it (base64url of JSON or deflated JSON), so do not keep
   * secrets in the session (R36). A store only opens cookies sealed in its own mode: turning
   * this on or off logs every user out.
   * @default false
   */
  encrypt?: boolean;
  /**
   * Deflate the record before sealing, when that makes it smaller (a flag under the MAC says
   * whether it did). With `encrypt`, the cookie's length can reveal how well the data
   * compresses; if an attacker can put chosen text into the session next to a secret, turn
   * this off (the CRIME/BREACH pattern).
   * @default true
   */
  compress?: boolean;
}

/**
 * Sessions kept in the cookie itself (Django's `signed_cookies`, iron-session): the record is
 * serialized, its data optionally deflated, the whole optionally AES-256-GCM encrypted, and
 * signed with HMAC-SHA256 under keys derived once per store by HKDF from `secrets` (format in
 * `seal.ts`). Every seal is bound to the cookie's name (B11): a value sealed for `admin_sid`
 * does not open as `sid`, even under the same secret. No server state: a session cannot be
 * revoked or listed before its cookie expires, and an old cookie replays until its `expiresAt`,
 * which is under the MAC and checked against `now` (R37). The value is at most 4096
 * characters; a larger record makes `seal` throw `SessionTooLargeError`, and `sealedLength`
 * lets the core refuse it earlier, at `set()` (B8).
 *
 * `open` returns null (a fresh session for the core) for every value it cannot verify; it
 * only rejects if Web Crypto itself fails. Both methods are pure apart from Web Crypto, so the
 * store runs on Node, Deno, Bun and edge runtimes.
 * @example
 * const store = cookieStore({ secrets: [process.env.SESSION_SECRET!, process.env.SESSION_SECRET_OLD!], encrypt: true });
 * const sessions = defineSession({ schema, store });
 */
export function cookieStore(options: CookieStoreOptions) {
  return createCookieStore(options, nodeDeflate);
}

/**
 * @internal `cookieStore` with the synchronous deflate chosen by the caller: node:zlib's in
 * `cookieStore`, null in tests of the path runtimes without node:zlib take (streams, and an
 * upper bound from `sealedLength`).
 */
export function createCookieStore(options: CookieStoreOptions, deflate: SyncDeflate | null) {
  if (typeof options !== "object" || options === null) throw new SessionConfigError("cookieStore: options are required");
  const secrets = normalizeSecrets(options.secrets);
  const mode: SealMode = {
    encrypt: flag(options.encrypt, "encrypt", false),
    compress: flag(options.compress, "compress", true),
    deflate,
  };
  if (typeof globalThis.crypto?.subtle?.sign !== "function") {
    throw new SessionConfigError("cookieStore: Web Crypto (globalThis.crypto.subtle) is not available in this runtime");
  }
  if (mode.compress && (typeof CompressionStream !== "function" || typeof DecompressionStream !== "function")) {
    throw new SessionConfigError("cookieStore: CompressionStream is not available in this runtime; pass compress: false");
  }

  // Derived on first use, then shared by every call; a failed derivation is not cached.
  let ring: Promise<KeyRing> | undefined;
  const keys = (): Promise<KeyRing> => {
    ring ??= deriveKeyRing(secrets).catch((error: unknown) => {
      ring = undefined;
      throw error;
    });
    return ring;
  };

  return {
    kind: "cookie",
    async open(value, now, name) {
      checkName(name);
      const opened = await openSealed(value, name, await keys(), mode.encrypt, mode.deflate);
      if (opened === null) return null;
      const record = decodeRecord(opened.meta, opened.data);
      if (record === null) return null;
      // Expiry lives under the MAC; the cookie's own Max-Age is never trusted (R28, R37).
      const nowMs = now.getTime();
      if (record.expiresAt.getTime() <= nowMs) return null;
      if (record.absoluteExpiresAt !== null && record.absoluteExpiresAt.getTime() <= nowMs) return null;
      return { record, resign: opened.key.index !== 0 };
    },
    async seal(record, name) {
      checkName(name);
      const meta = encoder.encode(JSON.stringify(encodeMeta(record)));
      const data = encoder.encode(JSON.stringify(record.data));
      // `open` refuses plaintexts over this size, so sealing one would lose the session silently.
      const plain = meta.byteLength + 1 + data.byteLength;
      if (plain > MAX_PLAINTEXT_BYTES) throw new SessionTooLargeError(plain, MAX_PLAINTEXT_BYTES);
      const value = await sealParts((await keys()).current, name, meta, data, mode);
      if (value.length > MAX_VALUE_CHARS) throw new SessionTooLargeError(value.length, MAX_VALUE_CHARS);
      return value;
    },
    sealedLength(record, name) {
      checkName(name);
      // The timestamps are the only fields that change between a `set()` and the commit that
      // seals it; counted at the widest a Date allows, the result holds for any later instant.
      const meta = encoder.encode(JSON.stringify(encodeMeta(record, WIDEST_EPOCH_MS))).byteLength;
      const data = encoder.encode(JSON.stringify(record.data));
      // Past the plaintext cap `seal` refuses anyway: no need to deflate a large record to say so.
      if (meta + 1 + data.byteLength > MAX_PLAINTEXT_BYTES) return sealedLength(meta, data, { ...mode, compress: false });
      return sealedLength(meta, data, mode);
    },
  } satisfies CookieSessionStore;
}

const NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The cookie name a seal is bound to must be an RFC 6265 token, as `defineSession` already
 * requires: without `=` in it, `<name>=<value>` under the MAC has one reading only.
 */
function checkName(name: string): void {
  if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
    throw new SessionConfigError("cookieStore: the cookie name to bind the seal to is not a valid cookie name");
  }
}

function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new SessionConfigError(`cookieStore: \`${name}\` must be a boolean`);
  return value;
}

const encoder = new TextEncoder();
// fatal: invalid UTF-8 throws instead of becoming U+FFFD, so a corrupt body is refused, not repaired.
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The widest JSON number a `Date` can hold: -8.64e15 is 17 characters. */
const WIDEST_EPOCH_MS = -8.64e15;

/**
 * The record's metadata inside a seal, as a JSON array (a cookie has 4096 bytes): id,
 * expiresAt, absoluteExpiresAt, createdAt, updatedAt (epoch ms), schemaVersion, rev,
 * successorId. With `widest`, every timestamp is that number instead, for `sealedLength`.
 */
type WireMeta = [string, number, number | null, number, number, number, number, string | null];

function encodeMeta(record: StoredSession, widest?: number): WireMeta {
  const ms = (date: Date) => widest ?? date.getTime();
  return [
    record.id,
    ms(record.expiresAt),
    record.absoluteExpiresAt === null ? null : ms(record.absoluteExpiresAt),
    ms(record.createdAt),
    ms(record.updatedAt),
    record.schemaVersion,
    record.rev,
    record.successorId,
  ];
}

/**
 * The record in a verified plaintext, or null when it does not have the shape `seal` writes.
 * The MAC already vouches for the bytes; this guards against a leaked secret or a bug turning
 * into a crash or a malformed record deeper in the core.
 */
function decodeRecord(metaBytes: Bytes, dataBytes: Bytes): StoredSession | null {
  let meta: unknown;
  let rawData: unknown;
  try {
    meta = JSON.parse(decoder.decode(metaBytes));
    rawData = JSON.parse(decoder.decode(dataBytes));
  } catch {
    return null;
  }
  if (!Array.isArray(meta) || meta.length !== 8) return null;
  const [i, e, a, c, u, v, r, s] = meta as unknown[];
  if (!isId(i) || !(s === null || isId(s))) return null;
  if (!isEpochMs(e) || !isEpochMs(c) || !isEpochMs(u) || !(a === null || isEpochMs(a))) return null;
  if (!Number.isSafeInteger(v) || !Number.isSafeInteger(r)) return null;
  const data = decodeData(rawData);
  if (data === null) return null;
  return {
    id: i,
    data,
    expiresAt: new Date(e),
    absoluteExpiresAt: a === null ? null : new Date(a),
    createdAt: new Date(c),
    updatedAt: new Date(u),
    schemaVersion: v as number,
    rev: r as number,
    successorId: s,
  };
}

function decodeData(raw: unknown): StoredData | null {
  if (!isObject(raw)) return null;
  const data: StoredData = {};
  for (const key of Object.keys(raw)) {
    const entry = decodeEntry(raw[key]);
    if (entry === null) return null;
    // defineProperty, not `data[key] =`: a "__proto__" key must stay an own data key, not
    // become the object's prototype (R41).
    Object.defineProperty(data, key, { value: entry, enumerable: true, writable: true, configurable: true });
  }
  return data;
}

function decodeEntry(raw: unknown): StoredEntry | null {
  if (!isObject(raw) || !Object.hasOwn(raw, "json")) return null;
  const entry: StoredEntry = { json: raw.json as JsonValue };
  if (Object.hasOwn(raw, "meta")) entry.meta = raw.meta as JsonValue;
  if (Object.hasOwn(raw, "exp")) {
    if (!isEpochMs(raw.exp)) return null;
    entry.exp = raw.exp;
  }
  if (Object.hasOwn(raw, "flash")) {
    if (raw.flash !== true) return null;
    entry.flash = true;
  }
  return entry;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ID_PATTERN = /^[0-9a-f]{64}$/;

function isId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** A finite number inside the range a `Date` can hold (±8.64e15 ms). */
function isEpochMs(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
}
