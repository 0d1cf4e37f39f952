/**
 * The sealed-value format of the cookie store, version 1, and the crypto behind it. The format
 * is fixed: there is no algorithm field to negotiate (JWT's `alg: none` lesson), only two flags,
 * and both are under the MAC.
 *
 *     v1.<flags>.<key-id>.<payload>.<mac>
 *
 * - `v1`: the format version. Any other text is refused.
 * - `<flags>`: one digit, `0`–`3`, a bit set: 1 = the body is deflate-raw compressed, 2 = it is
 *   AES-256-GCM encrypted (3 = both). The store refuses a value whose encryption flag differs from its
 *   own `encrypt` option, so an attacker cannot downgrade an encrypting store to plaintext.
 * - `<key-id>`: 8 base64url characters naming the secret that sealed it (HKDF output, see
 *   keys.ts), so `open` picks one key instead of trying all of them.
 * - `<payload>`: base64url (no padding) of the body: the record's JSON as UTF-8, deflated when
 *   that made it smaller; when encrypted, `iv (12 bytes) ‖ ciphertext ‖ tag (16 bytes)` with the
 *   header `v1.<flags>.<key-id>` as additional authenticated data.
 * - `<mac>`: base64url of HMAC-SHA256, under the secret's MAC key, over the ASCII text of
 *   everything before the last dot. 43 characters, canonical (the 2 spare bits are zero).
 *
 * `openSealed` checks the whole shape with one anchored pattern (exact part count, charset,
 * lengths, no trailing junk) and verifies the MAC before it decodes, decrypts or inflates the
 * payload (R32). The MAC covers the payload's *text*, so a non-canonical base64 spelling of
 * the same bytes is a different, unsigned value.
 */
import type { KeyRing, SealKey } from "./keys.js";

/** The only format version this code writes and reads. */
const VERSION = "v1";
const FLAG_COMPRESSED = 1;
const FLAG_ENCRYPTED = 2;

/** Longest value `openSealed` looks at, in characters: browsers keep at most 4096 bytes per cookie. */
export const MAX_VALUE_CHARS = 4096;
/**
 * Largest plaintext (the record's JSON), in bytes, that `seal` writes and `open` inflates. The
 * cap bounds the memory a forged or buggy compressed body can cost: a 4 KB deflate stream can
 * expand to ~4 MB, and inflation stops as soon as the output passes this size.
 */
export const MAX_PLAINTEXT_BYTES = 64 * 1024;

const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The whole value, anchored: exactly five parts, base64url charset, an 8-character key id and
 * a 43-character canonical MAC (32 bytes leave 2 spare bits, so the last character is one of the
 * 16 with those bits zero; otherwise two spellings would decode to the same MAC).
 */
const VALUE_PATTERN = /^v1\.([0-3])\.([A-Za-z0-9_-]{8})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{42}[AEIMQUYcgkosw048])$/;

type Bytes = Uint8Array<ArrayBuffer>;

const encoder = new TextEncoder();

/** What `seal` should do to the plaintext besides signing it. */
export interface SealMode {
  compress: boolean;
  encrypt: boolean;
}

/**
 * Seals `plaintext` with `key` (always the ring's current key, R34): deflates it when `compress`
 * is on and the result is strictly smaller, encrypts it when `encrypt` is on, then signs.
 */
export async function sealPlaintext(key: SealKey, plaintext: Bytes, mode: SealMode): Promise<string> {
  let flags = 0;
  let body = plaintext;
  if (mode.compress) {
    const deflated = await pump(new CompressionStream("deflate-raw"), plaintext, Number.POSITIVE_INFINITY);
    if (deflated !== null && deflated.byteLength < plaintext.byteLength) {
      body = deflated;
      flags |= FLAG_COMPRESSED;
    }
  }
  if (mode.encrypt) flags |= FLAG_ENCRYPTED;
  return sealBody(key, flags, body);
}

/**
 * Seals `body` exactly as given under `flags` (encrypting when the flag says so). Internal;
 * exported so that tests can MAC a crafted body, such as a deflate bomb, the way `sealPlaintext` does.
 */
export async function sealBody(key: SealKey, flags: number, body: Bytes): Promise<string> {
  const header = `${VERSION}.${flags}.${key.id}`;
  let payload = body;
  if ((flags & FLAG_ENCRYPTED) !== 0) {
    const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(header) }, key.enc, body);
    payload = new Uint8Array(IV_BYTES + sealed.byteLength);
    payload.set(iv);
    payload.set(new Uint8Array(sealed), IV_BYTES);
  }
  const signed = `${header}.${toBase64Url(payload)}`;
  const mac = await crypto.subtle.sign("HMAC", key.mac, encoder.encode(signed));
  return `${signed}.${toBase64Url(new Uint8Array(mac))}`;
}

/** A verified value: its plaintext and the key that verified it. */
export interface Opened {
  plaintext: Bytes;
  key: SealKey;
}

/**
 * The plaintext of a value sealed by one of the ring's keys, or null for anything else:
 * wrong shape, unknown key id, bad MAC, an encryption flag that differs from `encrypt`, a
 * failed decryption or inflation, or a plaintext over `MAX_PLAINTEXT_BYTES`. Never throws.
 */
export async function openSealed(value: string, ring: KeyRing, encrypt: boolean): Promise<Opened | null> {
  // Shape first: cheap, and nothing else runs on a value that could not have come from `seal`.
  if (typeof value !== "string" || value.length > MAX_VALUE_CHARS) return null;
  const match = VALUE_PATTERN.exec(value);
  if (match === null) return null;
  // The pattern admits only the flag values v1 defines (0-3); a bit it does not know is refused.
  const flags = Number(match[1]);
  if (((flags & FLAG_ENCRYPTED) !== 0) !== encrypt) return null;
  const key = ring.byId.get(match[2]!);
  if (key === undefined) return null;
  const mac = fromBase64Url(match[4]!);
  if (mac === null) return null;
  const signed = value.slice(0, value.length - match[4]!.length - 1);
  try {
    // `subtle.verify` compares in constant time, and the pattern fixed the MAC's length (R5).
    if (!(await crypto.subtle.verify("HMAC", key.mac, mac, encoder.encode(signed)))) return null;
    // Verified: from here on the bytes are ours, but every step still fails closed.
    let body = fromBase64Url(match[3]!);
    if (body === null) return null;
    if ((flags & FLAG_ENCRYPTED) !== 0) {
      if (body.byteLength < IV_BYTES + TAG_BYTES) return null;
      const header = `${VERSION}.${flags}.${key.id}`;
      body = new Uint8Array(
        await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: body.subarray(0, IV_BYTES), additionalData: encoder.encode(header) },
          key.enc,
          body.subarray(IV_BYTES),
        ),
      );
    }
    if ((flags & FLAG_COMPRESSED) !== 0) {
      const inflated = await pump(new DecompressionStream("deflate-raw"), body, MAX_PLAINTEXT_BYTES);
      if (inflated === null) return null;
      body = inflated;
    }
    return body.byteLength > MAX_PLAINTEXT_BYTES ? null : { plaintext: body, key };
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

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** Bytes → base64url without padding (RFC 4648 §5). */
export function toBase64Url(bytes: Uint8Array): string {
  let text = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    text += ALPHABET[n >> 18]! + ALPHABET[(n >> 12) & 63]! + ALPHABET[(n >> 6) & 63]! + ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]!;
    text += ALPHABET[n >> 2]! + ALPHABET[(n & 3) << 4]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 8) | bytes[i + 1]!;
    text += ALPHABET[n >> 10]! + ALPHABET[(n >> 4) & 63]! + ALPHABET[(n & 15) << 2]!;
  }
  return text;
}

/** Base64url without padding → bytes, or null for a character or length no encoder produces. */
export function fromBase64Url(text: string): Bytes | null {
  if (text.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let buffer = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const sextet = code < 128 ? DECODE[code]! : -1;
    if (sextet < 0) return null;
    buffer = ((buffer << 6) | sextet) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  return out;
}
