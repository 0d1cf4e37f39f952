import { SessionCorruptError } from "../../../errors.js";
import type { StoredData, StoredSession } from "../../../store.js";

/**
 * The SQL of one time column as `readRow` takes it: an integer comes out as a real (exact below
 * 2^53, and never too large for a driver: libSQL throws on integers past 2^53), NULL as NULL, and
 * anything else SQLite's loose typing let in (text, a fraction) as the string `corrupt`.
 */
export const timeSql = (column: string) =>
  `case typeof(${column}) when 'integer' then cast(${column} as real) when 'null' then null else 'corrupt' end`;

/**
 * The column list `readRow` reads, after the id: `data` as bytes (a blob), so its UTF-8 is
 * checked here (libSQL's native layer aborts the process on text that is not UTF-8) and its size
 * is known for free.
 */
export const rowColumns = (q: (column: string) => string) =>
  [
    `case typeof(${q("data")}) when 'text' then cast(${q("data")} as blob) end`,
    timeSql(q("expires_at")),
    timeSql(q("absolute_expires_at")),
    timeSql(q("created_at")),
    timeSql(q("updated_at")),
    timeSql(q("schema_version")),
    timeSql(q("rev")),
    q("successor_id"),
  ].join(", ");

/**
 * The quick read of a row: `data` as `rowColumns` has it, then the other columns as they are, in
 * one JSON array (`[expires_at, absolute_expires_at, created_at, updated_at, schema_version, rev,
 * successor_id]`) that `quickRow` spreads for `readRow`, which checks them in JavaScript: a
 * column that holds anything but an integer a Date can hold (text, a fraction, an integer past
 * 2^53, which JSON.parse cannot give exactly) fails it; a blob fails json_array itself. Two
 * columns instead of eight and no SQL type test per column: @libsql/client prepares the text
 * again at every call and builds each column of a row with property definitions, so this read
 * costs it about 39 µs of CPU against 81 µs (better-sqlite3: the same ~2.5 µs). The store reads a
 * row this read fails again through `rowColumns`, which tells a corrupt row from a sound one.
 */
export const quickRowColumns = (q: (column: string) => string) =>
  `case typeof(${q("data")}) when 'text' then cast(${q("data")} as blob) end, json_array(${[
    "expires_at",
    "absolute_expires_at",
    "created_at",
    "updated_at",
    "schema_version",
    "rev",
    "successor_id",
  ]
    .map(q)
    .join(", ")})`;

/** A row of `quickRowColumns` as `readRow` takes it (throws on one that is not such a row). */
export function quickRow(row: readonly unknown[]): unknown[] {
  const [bytes, rest] = row;
  const values: unknown = JSON.parse(rest as string);
  if (!Array.isArray(values)) throw new SessionCorruptError("drizzleStore: the session row's columns are not a JSON array");
  return [bytes, ...values];
}

// The range of a JavaScript Date: ±100,000,000 days around 1970.
const DATE_LIMIT_MS = 8.64e15;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * B12: a row the store can read, or `SessionCorruptError`. SQLite types nothing strictly, so
 * everything is checked: `data` UTF-8 text of a JSON object, times integers a Date can hold,
 * `schema_version` and `rev` integers, `successor_id` text or NULL. Entries inside `data` are the
 * core's to judge (`onInvalid`, per key).
 */
export function readRow(id: string, row: readonly unknown[]): StoredSession {
  const [bytes, expiresAt, absoluteExpiresAt, createdAt, updatedAt, schemaVersion, rev, successorId] = row;
  const text = textOf(bytes);
  let data: unknown;
  try {
    data = text === undefined ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (text === undefined || typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new SessionCorruptError("drizzleStore: the session row's data is not a JSON object");
  }
  for (const time of [expiresAt, createdAt, updatedAt, absoluteExpiresAt ?? 0]) {
    if (!(typeof time === "number" && Number.isInteger(time) && Math.abs(time) <= DATE_LIMIT_MS)) {
      throw new SessionCorruptError("drizzleStore: a time column of the session row is not a valid date");
    }
  }
  for (const n of [schemaVersion, rev]) {
    if (!Number.isSafeInteger(n))
      throw new SessionCorruptError("drizzleStore: the session row's rev or schema_version is not an integer");
  }
  if (successorId !== null && typeof successorId !== "string") {
    throw new SessionCorruptError("drizzleStore: the session row's successor_id is not text");
  }
  return {
    id,
    data: data as StoredData,
    // Σ sqliteEntryBytes over the entries, known from the bytes read: no second pass over the text.
    measuredBytes: text === "{}" ? 0 : (bytes as ArrayBufferLike | ArrayBufferView).byteLength - 1,
    expiresAt: new Date(expiresAt as number),
    absoluteExpiresAt: absoluteExpiresAt === null ? null : new Date(absoluteExpiresAt as number),
    createdAt: new Date(createdAt as number),
    updatedAt: new Date(updatedAt as number),
    schemaVersion: schemaVersion as number,
    rev: rev as number,
    successorId: successorId as string | null,
  };
}

/** A blob as better-sqlite3 (Buffer) or libSQL (ArrayBuffer) returns it, decoded; undefined when it is not UTF-8. */
function textOf(bytes: unknown): string | undefined {
  if (!(bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes))) return undefined;
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
