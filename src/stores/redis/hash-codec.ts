import type { Cluster, Redis } from "ioredis";
import { SessionCorruptError } from "../../errors.js";
import type { StoredData, StoredEntry, StoredSession } from "../../store.js";
import { utf8Length } from "../../utf8.js";

/**
 * A session record as one flat Redis hash, shared by `redisStore` and `redisCache`: each data
 * entry is its own field (`d:<key>` → the entry's JSON), so a patch touches only the fields it
 * changes; the metadata sits beside it in short fields. Times are epoch ms.
 */
export const DATA_FIELD_PREFIX = "d:";

/** The hash fields of a whole record, flattened for HSET. */
export function toHashFields(record: StoredSession): string[] {
  return [...metaFields(record), ...dataFields(record.data)];
}

/** Metadata fields of a record, without `rev` handling by the scripts. */
export function metaFields(record: StoredSession): string[] {
  return [
    "exp",
    String(record.expiresAt.getTime()),
    "abs",
    record.absoluteExpiresAt === null ? "" : String(record.absoluteExpiresAt.getTime()),
    "created",
    String(record.createdAt.getTime()),
    "updated",
    String(record.updatedAt.getTime()),
    "ver",
    String(record.schemaVersion),
    "rev",
    String(record.rev),
    "succ",
    record.successorId ?? "",
  ];
}

/** `d:<key>` / JSON pairs of data entries, flattened for HSET. */
export function dataFields(data: StoredData): string[] {
  const fields: string[] = [];
  for (const [key, entry] of Object.entries(data)) fields.push(DATA_FIELD_PREFIX + key, JSON.stringify(entry));
  return fields;
}

/**
 * A hash as HGETALL sends it: field, value, field, value… (`hashAt`). Kept flat: building an
 * object of it (ioredis' `hgetall`) and walking that again cost more than the one pass here.
 */
export type HashPairs = readonly string[];

/** The value of `field` in `hash`, or undefined. */
export function hashField(hash: HashPairs, field: string): string | undefined {
  for (let i = 0; i < hash.length; i += 2) if (hash[i] === field) return hash[i + 1];
  return undefined;
}

/**
 * The record a hash holds, or null when it holds none (absent, or only a cache mark).
 *
 * Throws `SessionCorruptError` (B12) for a hash that is neither: a metadata field missing or not
 * what the scripts write (integers: `rev`, `ver`, epoch ms in `exp`, `created`, `updated`, `abs`
 * or empty), or an entry field whose text is not JSON. No Tessera write produces those (each
 * is one script), so they are corruption, not an outage and not an unknown token. An entry that
 * is JSON but not a valid entry is left to the core, which applies `onInvalid` to that key alone,
 * as it does for the same entry in Postgres' `jsonb`.
 */
export function fromHash(id: string, hash: HashPairs): StoredSession | null {
  let exp: string | undefined;
  let abs: string | undefined;
  let created: string | undefined;
  let updated: string | undefined;
  let ver: string | undefined;
  let rev: string | undefined;
  let succ: string | undefined;
  let mark = false;
  const data: StoredData = {};
  // Each entry's text is JSON.stringify(entry) as dataFields wrote it: its size is the core's measure.
  let dataBytes = 0;
  for (let i = 0; i < hash.length; i += 2) {
    const field = hash[i] as string;
    const value = hash[i + 1] as string;
    if (field.startsWith(DATA_FIELD_PREFIX)) {
      dataBytes += utf8Length(value);
      const key = field.slice(DATA_FIELD_PREFIX.length);
      // A stored "__proto__" entry must become a key, not a prototype: defineProperty for it alone,
      // plain assignment (much cheaper) for the rest.
      if (key === "__proto__") {
        Object.defineProperty(data, key, { value: parseEntry(value), enumerable: true, writable: true, configurable: true });
      } else data[key] = parseEntry(value);
      continue;
    }
    switch (field) {
      case "exp":
        exp = value;
        break;
      case "abs":
        abs = value;
        break;
      case "created":
        created = value;
        break;
      case "updated":
        updated = value;
        break;
      case "ver":
        ver = value;
        break;
      case "rev":
        rev = value;
        break;
      case "succ":
        succ = value;
        break;
      case "floor":
      case "dead":
        mark = true;
        break;
    }
  }
  // A cache's floor mark or tombstone (`cache-scripts.ts`), or no key at all: not a record.
  if (rev === undefined && (mark || hash.length === 0)) return null;
  return {
    id,
    data,
    expiresAt: time(exp, "exp"),
    absoluteExpiresAt: abs === "" ? null : time(abs, "abs"),
    createdAt: time(created, "created"),
    updatedAt: time(updated, "updated"),
    schemaVersion: integer(ver, "ver"),
    rev: integer(rev, "rev"),
    successorId: succ ? succ : null,
    dataBytes,
  };
}

/**
 * HGETALL of `key`, flat (`HashPairs`). Throws `SessionCorruptError` (B12) when the key holds
 * another type than a hash (a string, list, set, zset or stream: Redis answers WRONGTYPE): no
 * Tessera write makes one, so it is garbage where a record should be, not an outage. Other
 * failures pass through.
 *
 * Sent as `call("HGETALL")`: ioredis keys its reply transformers by the exact command name, so
 * the uppercase name gets the reply as Redis sends it, without ioredis building an object of it
 * (key routing and `keyPrefix` match names case-insensitively, so a Cluster routes it as usual).
 * A client that builds the object anyway is read too.
 */
export async function hashAt(redis: Redis | Cluster, key: string): Promise<HashPairs> {
  let reply: unknown;
  try {
    reply = await redis.call("HGETALL", key);
  } catch (error) {
    if (isWrongType(error)) throw new SessionCorruptError("redis: the session's key holds another type than a hash");
    throw error;
  }
  if (Array.isArray(reply)) return reply as string[];
  // An object (a client that transforms every HGETALL), or a RESP3 map: flatten it.
  const pairs: string[] = [];
  if (reply instanceof Map) for (const [field, value] of reply) pairs.push(String(field), String(value));
  else if (typeof reply === "object" && reply !== null)
    for (const field of Object.keys(reply)) pairs.push(field, (reply as Record<string, string>)[field] as string);
  return pairs;
}

/** Redis's standard reply to a command on a key of another type. */
export const isWrongType = (error: unknown) => error instanceof Error && error.message.startsWith("WRONGTYPE");

const INTEGER = /^-?\d{1,16}$/;
// The Date range: ±8.64e15 ms around the epoch.
const MAX_TIME_MS = 8.64e15;

function integer(text: string | undefined, field: string): number {
  const value = text !== undefined && INTEGER.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value)) throw new SessionCorruptError(`redis: the session's "${field}" field is not an integer`);
  return value;
}

function time(text: string | undefined, field: string): Date {
  const ms = integer(text, field);
  if (Math.abs(ms) > MAX_TIME_MS) throw new SessionCorruptError(`redis: the session's "${field}" field is not a time`);
  return new Date(ms);
}

function parseEntry(json: string): StoredEntry {
  try {
    return JSON.parse(json) as StoredEntry;
  } catch {
    throw new SessionCorruptError("redis: a session entry is not JSON");
  }
}
