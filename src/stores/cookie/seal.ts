/**
 * The sealed-value format of the cookie store, version 2, and the crypto behind it. The format
 * is fixed: there is no algorithm field to negotiate (JWT's `alg: none` lesson), only two flags,
 * and both are under the MAC.
 *
 *     v2.<flags>.<key-id>.<payload>.<mac>
 *
 * - `v2`: the format version. Any other text is refused, `v1` included (B11: v1 seals were not
 *   bound to the cookie's name; see docs/decisions.md).
 * - `<flags>`: one digit, `0`–`3`, a bit set: 1 = the data section is deflate-raw compressed,
 *   2 = the body is AES-256-GCM encrypted (3 = both). The store refuses a value whose encryption
 *   flag differs from its own `encrypt` option, so an attacker cannot downgrade an encrypting
 *   store to plaintext.
 * - `<key-id>`: 8 base64url characters naming the secret that sealed it (HKDF output, see
 *   keys.ts), so `open` picks one key instead of trying all of them.
 * - `<payload>`: base64url (no padding) of the body: `meta ‖ 0x0A ‖ data`, where `meta` is the
 *   record's metadata as JSON (never compressed; it holds no raw newline) and `data` is the
 *   record's data as JSON, deflated when that made it smaller. When encrypted, the payload is
 *   `iv (12 bytes) ‖ ciphertext ‖ tag (16 bytes)` with `<name>=v2.<flags>.<key-id>` as
 *   additional authenticated data.
 * - `<mac>`: base64url of HMAC-SHA256, under the secret's MAC key, over the ASCII text
 *   `<name>=` followed by everything before the last dot: exactly the `name=value` pair a
 *   browser sends, minus the MAC. 43 characters, canonical (the 2 spare bits are zero).
 *
 * Binding the cookie's name (B11): a value sealed for `admin_sid` does not verify as `sid`,
 * even between two managers that share a secret. A cookie name is an RFC 6265 token, which
 * has no `=`, so `<name>=` cannot be re-split into another name and value.
 *
 * Compressing only the data, not the metadata, is what lets `sealedLength` know the value's
 * length ahead of `seal` (B8): the data does not change between `set()` and the commit that
 * seals it, while the timestamps in the metadata do; their JSON width is bounded instead.
 *
 * `openSealed` checks the whole shape with one anchored pattern (exact part count, charset,
 * lengths, no trailing junk) and verifies the MAC before it decodes, decrypts or inflates the
 * payload (R32). The MAC covers the payload's *text*, so a non-canonical base64 spelling of
 * the same bytes is a different, unsigned value.
 */
import { type Bytes, fromBase64Url, toBase64Url } from "./base64url.js";
import type { KeyRing, SealKey } from "./keys.js";

/** The only format version this code writes and reads. */
const VERSION = "v2";
export const FLAG_COMPRESSED = 1;
export const FLAG_ENCRYPTED = 2;

/** Longest value `openSealed` looks at, in characters: browsers keep at most 4096 bytes per cookie. */
export const MAX_VALUE_CHARS = 4096;
/**
 * Largest plaintext (metadata, separator and the data's JSON), in bytes, that `seal` writes and
 * `open` inflates. The cap bounds the memory a forged or buggy compressed body can cost: a 4 KB
 * deflate stream can expand to ~4 MB, and inflation stops as soon as the output passes this size.
 */
export const MAX_PLAINTEXT_BYTES = 64 * 1024;

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Between the metadata and the data section; JSON text never holds a raw newline. */
const SEPARATOR = 0x0a;
/** Characters of a value around its payload: `v2.F.` (5), the key id (8), two dots, the MAC (43). */
const FIXED_CHARS = 5 + 8 + 2 + 43;

/**
 * The whole value, anchored: exactly five parts, base64url charset, an 8-character key id and
 * a 43-character canonical MAC (32 bytes leave 2 spare bits, so the last character is one of the
 * 16 with those bits zero; otherwise two spellings would decode to the same MAC).
 */
const VALUE_PATTERN = /^v2\.([0-3])\.([A-Za-z0-9_-]{8})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

const encoder = new TextEncoder();

/**
 * Synchronous deflate-raw, where the runtime has one (node:zlib, also in Deno and Bun). With it,
 * `sealedLength` is exact and sealing skips the streams; without it, `seal` uses
 * `CompressionStream` and `sealedLength` counts the data uncompressed (an upper bound, since a
 * deflated body is kept only when smaller).
 */
export interface SyncDeflate {
  deflate(bytes: Uint8Array): Bytes;
  /** The inflated bytes, or null when they would pass `maxBytes` or the input is not deflate-raw. */
  inflate(bytes: Uint8Array, maxBytes: number): Bytes | null;
}

interface NodeZlib {
  deflateRawSync(bytes: Uint8Array): Uint8Array;
  inflateRawSync(bytes: Uint8Array, options: { maxOutputLength: number }): Uint8Array;
}

// getBuiltinModule, not an import: the store must load on runtimes that have no node:zlib.
const zlib = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  "node:zlib",
) as NodeZlib | undefined;

/** node:zlib's deflate-raw, or null on runtimes without it. */
export const nodeDeflate: SyncDeflate | null =
  zlib === undefined
    ? null
    : {
        deflate: (bytes) => asBytes(zlib.deflateRawSync(bytes)),
        inflate(bytes, maxBytes) {
          if (maxBytes < 1) return null;
          try {
            // maxOutputLength stops inflation as soon as the output passes it (a RangeError).
            return asBytes(zlib.inflateRawSync(bytes, { maxOutputLength: maxBytes }));
          } catch {
            return null;
          }
        },
      };

function asBytes(buffer: Uint8Array): Bytes {
  return new Uint8Array(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * HMAC-SHA256 and AES-256-GCM under a secret's keys. Web Crypto is everywhere, but in Node each
 * call is a hop to the thread pool and back (~60 µs for an HMAC of a cookie, against ~2.5 µs
 * inline), paid two or three times per sealed cookie on the request path. Where `node:crypto`
 * is there (Node, Bun, Deno) the same operations run inline on the same keys (`KeyObject.from`
 * of the derived `CryptoKey`s); both produce byte-identical values (tested both ways).
 */
export interface SealCipher {
  sign(key: SealKey, data: Uint8Array): Promise<Bytes>;
  /** Constant-time comparison of `mac` with the MAC of `data`. */
  verify(key: SealKey, mac: Uint8Array, data: Uint8Array): Promise<boolean>;
  /** `ciphertext ‖ tag`, as Web Crypto's AES-GCM writes it. */
  encrypt(key: SealKey, iv: Uint8Array, additionalData: Uint8Array, body: Uint8Array): Promise<Bytes>;
  /** The plaintext, or null when the tag does not verify. */
  decrypt(key: SealKey, iv: Uint8Array, additionalData: Uint8Array, sealed: Uint8Array): Promise<Bytes | null>;
}

/** Web Crypto: the portable path. */
export const webCipher: SealCipher = {
  async sign(key, data) {
    return new Uint8Array(await crypto.subtle.sign("HMAC", key.mac, data as Bytes));
  },
  verify: (key, mac, data) => crypto.subtle.verify("HMAC", key.mac, mac as Bytes, data as Bytes),
  async encrypt(key, iv, additionalData, body) {
    const sealed = await crypto.subtle.encrypt(
      { name: "AES-GCM", iv: iv as Bytes, additionalData: additionalData as Bytes },
      key.enc,
      body as Bytes,
    );
    return new Uint8Array(sealed);
  },
  async decrypt(key, iv, additionalData, sealed) {
    try {
      const body = await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: iv as Bytes, additionalData: additionalData as Bytes },
        key.enc,
        sealed as Bytes,
      );
      return new Uint8Array(body);
    } catch {
      return null;
    }
  },
};

/** The part of node:crypto used here. */
interface NodeCrypto {
  KeyObject: { from(key: CryptoKey): object };
  createHmac(algorithm: "sha256", key: object): { update(data: Uint8Array): { digest(): Uint8Array } };
  createCipheriv(
    algorithm: "aes-256-gcm",
    key: object,
    iv: Uint8Array,
  ): { setAAD(data: Uint8Array): void; update(data: Uint8Array): Uint8Array; final(): Uint8Array; getAuthTag(): Uint8Array };
  createDecipheriv(
    algorithm: "aes-256-gcm",
    key: object,
    iv: Uint8Array,
  ): {
    setAAD(data: Uint8Array): void;
    setAuthTag(tag: Uint8Array): void;
    update(data: Uint8Array): Uint8Array;
    final(): Uint8Array;
  };
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean;
}

// getBuiltinModule, not an import: the store must load on runtimes that have no node:crypto.
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
  "node:crypto",
) as NodeCrypto | undefined;

/** node:crypto on the same keys, or null on runtimes without it. */
export const nodeCipher: SealCipher | null =
  nodeCrypto === undefined || typeof nodeCrypto.KeyObject?.from !== "function" ? null : inlineCipher(nodeCrypto);

function inlineCipher(node: NodeCrypto): SealCipher {
  // One KeyObject per derived CryptoKey, made at its first use.
  const objects = new WeakMap<CryptoKey, object>();
  const objectOf = (key: CryptoKey) => {
    let object = objects.get(key);
    if (object === undefined) {
      object = node.KeyObject.from(key);
      objects.set(key, object);
    }
    return object;
  };
  const hmac = (key: SealKey, data: Uint8Array) => node.createHmac("sha256", objectOf(key.mac)).update(data).digest();
  return {
    sign: async (key, data) => copy(hmac(key, data)),
    async verify(key, mac, data) {
      const expected = hmac(key, data);
      return expected.byteLength === mac.byteLength && node.timingSafeEqual(expected, mac);
    },
    async encrypt(key, iv, additionalData, body) {
      const gcm = node.createCipheriv("aes-256-gcm", objectOf(key.enc), iv);
      gcm.setAAD(additionalData);
      return concat(gcm.update(body), gcm.final(), gcm.getAuthTag());
    },
    async decrypt(key, iv, additionalData, sealed) {
      if (sealed.byteLength < TAG_BYTES) return null;
      try {
        const gcm = node.createDecipheriv("aes-256-gcm", objectOf(key.enc), iv);
        gcm.setAAD(additionalData);
        gcm.setAuthTag(sealed.subarray(sealed.byteLength - TAG_BYTES));
        // final() throws when the tag does not verify: nothing decrypted is returned then.
        return concat(gcm.update(sealed.subarray(0, sealed.byteLength - TAG_BYTES)), gcm.final());
      } catch {
        return null;
      }
    },
  };
}

/** The parts in one new `Uint8Array` of its own (not a view of a pooled Buffer). */
function concat(...parts: Uint8Array[]): Bytes {
  let total = 0;
  for (const part of parts) total += part.byteLength;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

const copy = (bytes: Uint8Array): Bytes => concat(bytes);

const cipher: SealCipher = nodeCipher ?? webCipher;

/** What `seal` should do besides signing. */
export interface SealMode {
  compress: boolean;
  encrypt: boolean;
  /** The synchronous deflate to use, or null for the streams (`nodeDeflate` where there is one). */
  deflate: SyncDeflate | null;
}

/**
 * Seals `meta` and `data` with `key` (always the ring's current key, R34) for the cookie `name`:
 * deflates the data when `compress` is on and the result is strictly smaller, encrypts when
 * `encrypt` is on, then signs.
 */
export async function sealParts(key: SealKey, name: string, meta: Uint8Array, data: Bytes, mode: SealMode): Promise<string> {
  let flags = 0;
  let section: Uint8Array = data;
  if (mode.compress) {
    const deflated =
      mode.deflate === null
        ? await pump(new CompressionStream("deflate-raw"), data, Number.POSITIVE_INFINITY)
        : mode.deflate.deflate(data);
    if (deflated !== null && deflated.byteLength < data.byteLength) {
      section = deflated;
      flags |= FLAG_COMPRESSED;
    }
  }
  if (mode.encrypt) flags |= FLAG_ENCRYPTED;
  const body = new Uint8Array(meta.byteLength + 1 + section.byteLength);
  body.set(meta);
  body[meta.byteLength] = SEPARATOR;
  body.set(section, meta.byteLength + 1);
  return sealBody(key, name, flags, body);
}

/**
 * The length of the value `sealParts` makes of `metaBytes` bytes of metadata and `data`, computed
 * without sealing: exact with a synchronous deflate (or without compression), otherwise an upper
 * bound that counts the data uncompressed.
 */
export function sealedLength(metaBytes: number, data: Uint8Array, mode: SealMode): number {
  let section = data.byteLength;
  if (mode.compress && mode.deflate !== null) section = Math.min(section, mode.deflate.deflate(data).byteLength);
  const payload = metaBytes + 1 + section + (mode.encrypt ? IV_BYTES + TAG_BYTES : 0);
  return FIXED_CHARS + Math.ceil((payload * 4) / 3);
}

/**
 * Seals `body` exactly as given under `flags` (encrypting when the flag says so) for the cookie
 * `name`. Internal; exported so that tests can MAC a crafted body, such as a deflate bomb, the
 * way `sealParts` does.
 */
export async function sealBody(key: SealKey, name: string, flags: number, body: Uint8Array): Promise<string> {
  const header = `${VERSION}.${flags}.${key.id}`;
  let payload: Uint8Array = body;
  if ((flags & FLAG_ENCRYPTED) !== 0) {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await cipher.encrypt(key, iv, encoder.encode(`${name}=${header}`), body);
    payload = new Uint8Array(IV_BYTES + sealed.byteLength);
    payload.set(iv);
    payload.set(sealed, IV_BYTES);
  }
  const signed = `${header}.${toBase64Url(payload)}`;
  const mac = await cipher.sign(key, encoder.encode(`${name}=${signed}`));
  return `${signed}.${toBase64Url(mac)}`;
}

/** A verified value: its metadata and data (inflated) and the key that verified it. */
export interface Opened {
  meta: Bytes;
  data: Bytes;
  key: SealKey;
}

/**
 * The metadata and data of a value sealed by one of the ring's keys for the cookie `name`, or
 * null for anything else: wrong shape, unknown key id, bad MAC (another name, another secret),
 * an encryption flag that differs from `encrypt`, a failed decryption or inflation, no
 * separator, or a plaintext over `MAX_PLAINTEXT_BYTES`. Never throws.
 */
export async function openSealed(
  value: string,
  name: string,
  ring: KeyRing,
  encrypt: boolean,
  deflate: SyncDeflate | null,
): Promise<Opened | null> {
  // Shape first: cheap, and nothing else runs on a value that could not have come from `seal`.
  if (typeof value !== "string" || value.length > MAX_VALUE_CHARS) return null;
  const match = VALUE_PATTERN.exec(value);
  if (match === null) return null;
  // The pattern admits only the flag values v2 defines (0-3); a bit it does not know is refused.
  const flags = Number(match[1]);
  if (((flags & FLAG_ENCRYPTED) !== 0) !== encrypt) return null;
  const key = ring.byId.get(match[2]!);
  if (key === undefined) return null;
  const mac = fromBase64Url(match[4]!);
  if (mac === null) return null;
  const signed = value.slice(0, value.length - match[4]!.length - 1);
  try {
    // `verify` compares in constant time, and the pattern fixed the MAC's length (R5).
    if (!(await cipher.verify(key, mac, encoder.encode(`${name}=${signed}`)))) return null;
    // Verified: from here on the bytes are ours, but every step still fails closed.
    let body = fromBase64Url(match[3]!);
    if (body === null) return null;
    if ((flags & FLAG_ENCRYPTED) !== 0) {
      if (body.byteLength < IV_BYTES + TAG_BYTES) return null;
      const additionalData = encoder.encode(`${name}=${VERSION}.${flags}.${key.id}`);
      const opened = await cipher.decrypt(key, body.subarray(0, IV_BYTES), additionalData, body.subarray(IV_BYTES));
      if (opened === null) return null;
      body = opened;
    }
    const at = body.indexOf(SEPARATOR);
    if (at < 0) return null;
    const meta = body.subarray(0, at);
    let data: Bytes | null = body.subarray(at + 1);
    const room = MAX_PLAINTEXT_BYTES - at - 1;
    if ((flags & FLAG_COMPRESSED) !== 0) {
      data = deflate === null ? await pump(new DecompressionStream("deflate-raw"), data, room) : deflate.inflate(data, room);
      if (data === null) return null;
    }
    return data.byteLength > room ? null : { meta, data, key };
  } catch {
    return null;
  }
}

/**
 * Runs `input` through a (de)compression stream, reading chunk by chunk so that output past
 * `maxBytes` is never buffered: the stream is cancelled and the result is null. A corrupt
 * input rejects from `read()`.
 */
async function pump(stream: CompressionStream | DecompressionStream, input: Bytes, maxBytes: number): Promise<Bytes | null> {
  const writer = stream.writable.getWriter();
  // Not awaited: with backpressure `write` settles only as the output is read, and when the
  // stream fails or is cancelled these reject too; the failure surfaces from `read()` below.
  writer.write(input).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]!.buffer instanceof ArrayBuffer) return chunks[0] as Bytes;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
