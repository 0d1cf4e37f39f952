import { randomBytes } from "node:crypto";
import { rename, unlink } from "node:fs/promises";
import { SessionCorruptError } from "../../errors.js";
import type { StoredData, StoredSession } from "../../store.js";
import { createFile, readOwnFile, UnsafeFileError } from "./file-io.js";

/**
 * One session file: its JSON layout, reading it and writing it atomically.
 *
 * The JSON of one session file. Times are epoch ms; `v` is the format's version, so that a
 * later layout can read this one. `data` is written as the core encoded it (superjson entries).
 */
interface FileRecordV1 {
  v: 1;
  id: string;
  data: StoredData;
  expiresAt: number;
  absoluteExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
  schemaVersion: number;
  rev: number;
  successorId: string | null;
}

/**
 * A session id as the core makes it: sha256(token) in lowercase hex. Checked before any path is
 * built (R54): no separator, dot, NUL or percent can reach the filesystem, and lowercase only, so
 * two ids never name one file on a case-insensitive filesystem (R55).
 */
export const isSessionId = (id: unknown): id is string => typeof id === "string" && /^[0-9a-f]{64}$/.test(id);

/** A session file's name, capturing the id. */
export const SESSION_FILE = /^([0-9a-f]{64})\.json$/;

export function encodeRecord(record: StoredSession): string {
  const file: FileRecordV1 = {
    v: 1,
    id: record.id,
    data: record.data,
    expiresAt: record.expiresAt.getTime(),
    absoluteExpiresAt: record.absoluteExpiresAt === null ? null : record.absoluteExpiresAt.getTime(),
    createdAt: record.createdAt.getTime(),
    updatedAt: record.updatedAt.getTime(),
    schemaVersion: record.schemaVersion,
    rev: record.rev,
    successorId: record.successorId,
  };
  return JSON.stringify(file);
}

/**
 * The record in a file's text. Throws `SessionCorruptError` (the parse error as `cause`) when the
 * text is not JSON, not this layout, or was written for another id (a file copied or renamed by
 * hand): a data problem, never an outage (B12). The data entries are passed on unchecked: the
 * core validates them (R41, R43).
 */
export function decodeRecord(text: string, id: string): StoredSession {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new SessionCorruptError("fileStore: a session file is not valid JSON", { cause });
  }
  const file = raw as Partial<Record<keyof FileRecordV1, unknown>> | null;
  // Within Date's range (±8.64e15 ms): a larger number would load as an Invalid Date.
  const isTime = (value: unknown): value is number =>
    typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
  const isCount = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);
  if (
    typeof file !== "object" ||
    file === null ||
    file.v !== 1 ||
    file.id !== id ||
    typeof file.data !== "object" ||
    file.data === null ||
    Array.isArray(file.data) ||
    !isTime(file.expiresAt) ||
    !(file.absoluteExpiresAt === null || isTime(file.absoluteExpiresAt)) ||
    !isTime(file.createdAt) ||
    !isTime(file.updatedAt) ||
    !isCount(file.schemaVersion) ||
    !isCount(file.rev) ||
    !(file.successorId === null || isSessionId(file.successorId))
  ) {
    throw new SessionCorruptError("fileStore: a session file does not hold a session record");
  }
  return {
    id,
    // JSON.parse makes a "__proto__" key an own property, never a prototype (R41).
    data: file.data as StoredData,
    expiresAt: new Date(file.expiresAt),
    absoluteExpiresAt: file.absoluteExpiresAt === null ? null : new Date(file.absoluteExpiresAt),
    createdAt: new Date(file.createdAt),
    updatedAt: new Date(file.updatedAt),
    schemaVersion: file.schemaVersion,
    rev: file.rev,
    successorId: file.successorId,
  };
}

/**
 * What a session file holds: a record, something that is not one (`corrupt`, a `SessionCorruptError`:
 * unreadable text, or a name that is a link, FIFO, directory or another user's file), or nothing.
 */
export type FileRead = { record: StoredSession } | { corrupt: SessionCorruptError } | null;

export async function readRecord(id: string, file: string): Promise<FileRead> {
  let text: string | null;
  try {
    text = await readOwnFile(file);
  } catch (error) {
    if (!(error instanceof UnsafeFileError)) throw error;
    return { corrupt: new SessionCorruptError(`fileStore: a session file's name holds ${error.message}`, { cause: error }) };
  }
  if (text === null) return null;
  try {
    return { record: decodeRecord(text, id) };
  } catch (corrupt) {
    return { corrupt: corrupt as SessionCorruptError };
  }
}

/**
 * Writes `record` to a new temp file beside `file` (mode 0600, `O_EXCL | O_NOFOLLOW`, R55) and
 * renames it over `file`: readers see the old or the new content, never a partial one, and a
 * link planted under `file`'s name is replaced, never written through. Not fsynced (see `fileStore`).
 */
export async function writeRecord(file: string, record: StoredSession): Promise<void> {
  const temp = `${file}.${randomBytes(8).toString("hex")}.tmp`;
  await createFile(temp, encodeRecord(record));
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}
