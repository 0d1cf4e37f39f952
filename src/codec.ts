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

/**
 * The deepest nesting of arrays and objects a value may have (a session is no document tree).
 * 29: MariaDB's JSON functions take a document nested 32 levels or more as invalid, and its
 * `json_set` then writes `null` in the value's place, silently; the record adds two levels (its
 * `data` object and the entry's own), so 29 is the deepest every store holds. Refused here, at
 * `set()`, for every store alike, not at one store's save.
 */
export const MAX_DEPTH = 29;

/** Encodes one value. Returns an `EncodeFailure` instead of throwing so the caller can raise its own typed error. */
export function encodeValue(value: unknown, extra: { exp?: number; flash?: true } = {}): Encoded | EncodeFailure {
  const fast = fastSerialize(value);
  let serialized: { json: unknown; meta?: unknown };
  try {
    serialized = fast ?? codec.serialize(value);
  } catch (error) {
    return new EncodeFailure(error instanceof Error ? error.message : "value cannot be serialized");
  }
  let entry: StoredEntry = { json: serialized.json as JsonValue };
  if (serialized.meta !== undefined) entry.meta = serialized.meta as JsonValue;
  if (extra.exp !== undefined) entry.exp = extra.exp;
  if (extra.flash) entry.flash = true;
  let text: string;
  try {
    text = JSON.stringify(entry);
  } catch (error) {
    return new EncodeFailure(error instanceof Error ? error.message : "value cannot be serialized");
  }
  // A scalar has no nesting: only its escapes need the scan, and most strings have none.
  const unstorable = fast !== undefined && !text.includes("\\u") ? null : unstorableText(text);
  if (unstorable !== null) return new EncodeFailure(unstorable);
  // superjson hands back class instances (and their toJSON) as they are: the entry would still
  // point at the app's object, which may change after set() (past the checks above) or serialize
  // differently in each driver. The entry is the JSON text's own plain copy instead.
  if (fast === undefined) entry = JSON.parse(text) as StoredEntry;
  return { entry, bytes: utf8Length(text) };
}

/**
 * Every store must hold exactly what `set()` accepted, so what one of them cannot hold is
 * refused here, at `set()`, for all: Postgres `jsonb` rejects U+0000 (R44) and lone UTF-16
 * surrogates (`"\ud800"`, which any JSON request body can carry), and a failed save would look
 * like a store outage. JSON.stringify escapes exactly those as `\u0000` and `\udXXX` (paired
 * surrogates are written as they are), so one pass over the escapes finds them in values, object
 * keys, Map keys and Set members alike. The same pass bounds the nesting (`MAX_DEPTH`): every
 * later walk of the value (a store's measure, a driver) then stays far from the stack's limit.
 */
function unstorableText(text: string): string | null {
  const n = text.length;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === QUOTE) inString = false;
      else if (c === BACKSLASH) {
        if (text.charCodeAt(i + 1) === LOWER_U) {
          if (text.startsWith("0000", i + 2)) return "strings containing U+0000 cannot be stored";
          if (text.charCodeAt(i + 2) === LOWER_D && LONE_SURROGATE_DIGITS.has(text.charCodeAt(i + 3))) {
            return "strings containing a lone UTF-16 surrogate (unpaired \\ud800-\\udfff) cannot be stored";
          }
          i += 5;
        } else i += 1;
      }
    } else if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      // +1: the entry's own object around the value.
      if (++depth > MAX_DEPTH + 1) return `values nested deeper than ${MAX_DEPTH} levels cannot be stored`;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
  }
  return null;
}

const code = (c: string) => c.charCodeAt(0);
const [QUOTE, BACKSLASH, LOWER_U, LOWER_D] = [code('"'), code("\\"), code("u"), code("d")];
const [OPEN_BRACKET, CLOSE_BRACKET, OPEN_BRACE, CLOSE_BRACE] = [code("["), code("]"), code("{"), code("}")];
/** The third hex digit of the escapes of U+D800–U+DFFF, as JSON.stringify writes them (lowercase). */
const LONE_SURROGATE_DIGITS = new Set([..."89abcdef"].map(code));

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

/** JSON text with every object's keys sorted, so two encodings of one value compare equal. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = Object.create(null); // an own "__proto__" key stays a key
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}
