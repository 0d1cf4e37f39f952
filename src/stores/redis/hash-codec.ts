import type { Cluster, Redis } from "ioredis";
import { SessionCorruptError } from "../../errors.js";
import type { StoredData, StoredEntry, StoredSession } from "../../store.js";
import { utf8Length } from "../../utf8.js";
import { defineScripts } from "./lua.js";

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
 * A hash as HGETALL sends it: field, value, field, value… (`hashReader`). Kept flat: building an
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
 * The hash at a key in one string: HGETALL's fields and values joined by NUL, then NUL and the
 * count of fields and values. Decoding a reply of 2n strings is most of a load's client time
 * (ioredis' RESP3 decoder pays per element); one string is one slice, split here in one pass.
 * Entries are JSON text (JSON.stringify escapes every control character) and metadata are digits
 * and ids, so what Tessera writes holds no NUL, and the split gives count + 1 parts. A hash
 * written by hand whose text does hold a NUL splits into more: the client then reads it again as
 * the plain array (`READ_HASH_ARRAY`), so a field is never shifted into a value. The client
 * checks the count rather than the script scanning every string for a NUL: a scan in Lua costs
 * the server's single thread ~1 µs a read. A key of another type answers WRONGTYPE.
 */
const READ_HASH = `
local all = redis.pcall('HGETALL', KEYS[1])
if all.err then return all end
all[#all + 1] = #all
return table.concat(all, '\\0')
`;

/** The same hash as HGETALL's plain array: the second read of a hash whose text holds a NUL. */
const READ_HASH_ARRAY = `return redis.pcall('HGETALL', KEYS[1])`;

interface ReadCommands {
  tesseraReadHash(key: string): Promise<unknown>;
  tesseraReadHashArray(key: string): Promise<unknown>;
}

/** Reads one session hash flat (`HashPairs`); from `hashReader`. */
export type HashReader = (key: string) => Promise<HashPairs>;

/**
 * A reader of session hashes on `redis`, shared by `redisStore` and `redisCache` (the scripts are
 * the same under the same names, so defining them twice on one client is harmless). One EVALSHA
 * per read; two for a hash whose text holds a NUL. Throws `SessionCorruptError` (B12) when the
 * key holds another type than a hash (a string, list, set, zset or stream: Redis answers
 * WRONGTYPE): no Tessera write makes one, so it is garbage where a record should be, not an
 * outage. Other failures pass through.
 */
export function hashReader(redis: Redis | Cluster): HashReader {
  const commands = defineScripts<ReadCommands>(redis, {
    tesseraReadHash: READ_HASH,
    tesseraReadHashArray: READ_HASH_ARRAY,
  });
  const read = async (call: () => Promise<unknown>) => {
    try {
      return await call();
    } catch (error) {
      if (isWrongType(error)) throw new SessionCorruptError("redis: the session's key holds another type than a hash");
      throw error;
    }
  };
  return async (key) => {
    const reply = await read(() => commands.tesseraReadHash(key));
    if (typeof reply === "string") {
      const parts = reply.split("\0");
      const count = parts.pop();
      if (count === String(parts.length)) return parts;
    }
    // A NUL inside a field or value (hand-written), or a reply of an unexpected shape.
    const array = await read(() => commands.tesseraReadHashArray(key));
    if (Array.isArray(array) && array.every((item) => typeof item === "string")) return array;
    throw new SessionCorruptError("redis: the session's hash read returned an unexpected reply");
  };
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
