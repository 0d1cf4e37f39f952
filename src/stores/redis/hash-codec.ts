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
 * The record a hash holds, or null when it holds none (absent, or only a cache mark). An
 * unparsable entry is kept as `null` so the core's validation drops it (`onInvalid`).
 */
export function fromHash(id: string, hash: Record<string, string>): StoredSession | null {
  if (hash.rev === undefined || hash.exp === undefined) return null;
  const data: StoredData = {};
  // Each entry's text is JSON.stringify(entry) as dataFields wrote it: its size is the core's measure.
  let dataBytes = 0;
  for (const [field, value] of Object.entries(hash)) {
    if (!field.startsWith(DATA_FIELD_PREFIX)) continue;
    dataBytes += utf8Length(value);
    const key = field.slice(DATA_FIELD_PREFIX.length);
    // A stored "__proto__" entry must become a key, not a prototype: defineProperty for it alone,
    // plain assignment (much cheaper) for the rest.
    if (key === "__proto__") {
      Object.defineProperty(data, key, { value: parseEntry(value), enumerable: true, writable: true, configurable: true });
    } else data[key] = parseEntry(value);
  }
  return {
    id,
    data,
    expiresAt: new Date(Number(hash.exp)),
    absoluteExpiresAt: hash.abs ? new Date(Number(hash.abs)) : null,
    createdAt: new Date(Number(hash.created)),
    updatedAt: new Date(Number(hash.updated)),
    schemaVersion: Number(hash.ver),
    rev: Number(hash.rev),
    successorId: hash.succ ? hash.succ : null,
    dataBytes,
  };
}

function parseEntry(json: string): StoredEntry {
  try {
    return JSON.parse(json) as StoredEntry;
  } catch {
    return null as unknown as StoredEntry;
  }
}
