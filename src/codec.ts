import SuperJSON from "superjson";
import type { JsonValue, StoredEntry } from "./store.js";
import { utf8Length } from "./utf8.js";

/**
 * superjson per entry: each session key is encoded on its own, so a save encodes only the
 * keys it changed, and a load decodes only what it reads. The only file that imports superjson.
 */

// A private instance: custom types a host app registers globally do not leak into sessions.
const codec = new SuperJSON();

/** An encoded entry and its serialized size, computed once (for `maxBytes`). */
export interface Encoded {
  entry: StoredEntry;
  bytes: number;
}

/** Why a value cannot be stored, as a short reason for a validation issue. */
export class EncodeFailure {
  constructor(readonly reason: string) {}
}

/** Encodes one value. Returns an `EncodeFailure` instead of throwing so the caller can raise its own typed error. */
export function encodeValue(value: unknown, extra: { exp?: number; flash?: true } = {}): Encoded | EncodeFailure {
  let serialized: { json: unknown; meta?: unknown } | undefined = fastSerialize(value);
  try {
    serialized ??= codec.serialize(value);
  } catch (error) {
    return new EncodeFailure(error instanceof Error ? error.message : "value cannot be serialized");
  }
  const entry: StoredEntry = { json: serialized.json as JsonValue };
  if (serialized.meta !== undefined) entry.meta = serialized.meta as JsonValue;
  if (extra.exp !== undefined) entry.exp = extra.exp;
  if (extra.flash) entry.flash = true;
  const text = JSON.stringify(entry);
  const unstorable = unstorableEscape(text);
  if (unstorable !== null) return new EncodeFailure(unstorable);
  return { entry, bytes: utf8Length(text) };
}

/**
 * Every store must hold exactly what `set()` accepted, so what one of them cannot hold is
 * refused here, at `set()`, for all: Postgres `jsonb` rejects U+0000 (R44) and lone UTF-16
 * surrogates (`"\ud800"`, which any JSON request body can carry), and a failed save would look
 * like a store outage. JSON.stringify escapes exactly those as `\u0000` and `\udXXX` (paired
 * surrogates are written as they are), so one scan of the escapes finds them in values, object
 * keys, Map keys and Set members alike.
 */
function unstorableEscape(text: string): string | null {
  if (!text.includes("\\u")) return null;
  // Walk escape by escape so that an escaped backslash followed by "u0000" is not mistaken for one.
  for (const match of text.matchAll(/\\(u[0-9a-f]{4}|[^u])/g)) {
    const sequence = match[1] as string;
    if (sequence === "u0000") return "strings containing U+0000 cannot be stored";
    if (/^ud[89a-f]/.test(sequence))
      return "strings containing a lone UTF-16 surrogate (unpaired \\ud800-\\udfff) cannot be stored";
  }
  return null;
}

/** Decodes one stored entry; throws on a corrupt entry (the caller applies `onInvalid`). */
export function decodeEntry(entry: StoredEntry): unknown {
  if (entry.meta === undefined) return entry.json;
  if (isTopLevelDate(entry)) return new Date(entry.json as string);
  return codec.deserialize({ json: entry.json, meta: entry.meta } as Parameters<typeof codec.deserialize>[0]);
}

// Sessions mostly hold scalars and timestamps; superjson's tree walk costs several µs even for
// those. These produce exactly what superjson does (test/unit/codec.test.ts compares them).
function fastSerialize(value: unknown): { json: JsonValue; meta?: JsonValue } | undefined {
  switch (typeof value) {
    case "string":
    case "boolean":
      return { json: value };
    case "number":
      // NaN, ±Infinity and -0 need superjson's meta.
      return Number.isFinite(value) && !Object.is(value, -0) ? { json: value } : undefined;
    case "object":
      if (value === null) return { json: null };
      if (value instanceof Date && !Number.isNaN(value.getTime()))
        return { json: value.toISOString(), meta: { values: ["Date"], v: 1 } };
      return undefined;
    default:
      return undefined;
  }
}

function isTopLevelDate(entry: StoredEntry): boolean {
  const meta = entry.meta;
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) return false;
  const values = meta.values;
  return Array.isArray(values) && values.length === 1 && values[0] === "Date" && typeof entry.json === "string";
}

/** Whether `value` has the shape of a stored entry (stored data comes from outside and is checked). */
export function isStoredEntry(value: unknown): value is StoredEntry {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const entry = value as Record<string, unknown>;
  return "json" in entry && (entry.exp === undefined || typeof entry.exp === "number");
}

/** The serialized size of an entry already stored. */
export function entryBytes(entry: StoredEntry): number {
  return utf8Length(JSON.stringify(entry));
}
