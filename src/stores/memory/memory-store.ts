import { refuseLateWrite, SessionCorruptError, SessionStoreError, SessionTooLargeError } from "../../errors.js";
import type { SessionPatch, SessionStore, StoredData, StoredSession, Where } from "../../store.js";
import { utf8Length } from "../../utf8.js";

/** Options of `memoryStore`. */
export interface MemoryStoreOptions {
  /** The map to keep records in; pass one to share it between stores in a test. @default new Map() */
  map?: Map<string, StoredSession>;
}

/**
 * Sessions in a `Map`, for tests and development. Records are deep-copied in and out, as a
 * real backend serializes them, so code that works here does not rely on shared objects.
 * Every method is atomic (single-threaded JavaScript, no await inside), so `patch` checks
 * `maxBytes` on the very record it writes (B9). A record in the map that is not a readable
 * `StoredSession` (a map shared with test code that put something else in it) makes `get` throw
 * `SessionCorruptError` (B12).
 * @example defineSession({ schema, store: memoryStore() })
 */
export function memoryStore(options: MemoryStoreOptions = {}) {
  const map = options.map ?? new Map<string, StoredSession>();
  const live = (id: string, now: Date): StoredSession | undefined => {
    const record = map.get(id);
    if (record === undefined) return undefined;
    if (!readable(record)) throw new SessionCorruptError("memoryStore: the stored record is not a session record");
    if (record.expiresAt.getTime() > now.getTime()) return record;
    map.delete(id);
    return undefined;
  };
  // A grace shadow only points at its successor: writes must reach the successor (the core
  // follows the pointer), never the emptied shadow, as on every other store.
  const writable = (id: string, now: Date): StoredSession | undefined => {
    const record = live(id, now);
    return record?.successorId === null ? record : undefined;
  };
  const matches = (record: StoredSession, where: Where) =>
    readable(record) && Object.entries(where).every(([key, value]) => record.data[key]?.json === value);

  return {
    async get(id, now) {
      const record = live(id, now);
      return record === undefined ? null : structuredClone(record);
    },
    async create(record) {
      if (map.has(record.id)) throw new SessionStoreError("a session with this id already exists");
      map.set(record.id, structuredClone(record));
    },
    async replace(record, now, notAfter?) {
      const current = writable(record.id, now);
      if (current === undefined) return null;
      refuseLateWrite("memoryStore", current.updatedAt, notAfter);
      const rev = current.rev + 1;
      map.set(record.id, { ...structuredClone(record), rev });
      return rev;
    },
    async patch(id, patch: SessionPatch, now) {
      const current = writable(id, now);
      if (current === undefined) return null;
      refuseLateWrite("memoryStore", current.updatedAt, patch.notAfter);
      const data: StoredData = { ...current.data };
      for (const key of patch.deleted) delete data[key];
      Object.assign(data, structuredClone(patch.set));
      const bytes = dataBytes(data);
      // Never grow a record past maxBytes. A patch that does not grow one already over it (written
      // under a larger limit) may still go through, so deleting keys can bring it back under.
      if (bytes > patch.maxBytes && bytes > dataBytes(current.data)) throw new SessionTooLargeError(bytes, patch.maxBytes);
      current.data = data;
      current.expiresAt = patch.expiresAt;
      current.updatedAt = patch.updatedAt;
      current.schemaVersion = patch.schemaVersion;
      current.rev += 1;
      return current.rev;
    },
    async touch(id, expiresAt, now) {
      const current = writable(id, now);
      if (current === undefined) return false;
      current.expiresAt = expiresAt;
      return true;
    },
    async rotate(oldId, record, graceUntil, now) {
      const old = writable(oldId, now);
      if (old === undefined) return false;
      if (graceUntil === null) map.delete(oldId);
      else map.set(oldId, { ...old, data: {}, expiresAt: graceUntil, successorId: record.id, rev: old.rev + 1 });
      map.set(record.id, structuredClone(record));
      return true;
    },
    async delete(id) {
      map.delete(id);
    },
    async find(where, now, options = {}) {
      const found = [...map.values()]
        .filter((record) => matches(record, where) && record.expiresAt.getTime() > now.getTime() && record.successorId === null)
        .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
      return structuredClone(found.slice(0, options.limit ?? found.length));
    },
    async deleteWhere(where, options = {}) {
      const deleted: string[] = [];
      for (const record of [...map.values()]) {
        if (record.id !== options.exceptId && matches(record, where)) {
          map.delete(record.id);
          deleted.push(record.id);
        }
      }
      return deleted;
    },
    async purgeExpired(now, batchSize) {
      let count = 0;
      for (const record of [...map.values()]) {
        if (count >= batchSize) break;
        if (readable(record) && record.expiresAt.getTime() <= now.getTime()) {
          map.delete(record.id);
          count++;
        }
      }
      return count;
    },
  } satisfies SessionStore;
}

/** Σ over entries of the default measure (UTF-8 length of `JSON.stringify(entry)`), as the core's `set()` check. */
function dataBytes(data: StoredData): number {
  let bytes = 0;
  for (const entry of Object.values(data)) bytes += utf8Length(JSON.stringify(entry));
  return bytes;
}

const isDate = (value: unknown): value is Date => value instanceof Date && !Number.isNaN(value.getTime());

/** Whether `record` has the shape of a `StoredSession` in its metadata (entry contents are the core's to judge). */
function readable(record: StoredSession): boolean {
  const r = record as Partial<Record<keyof StoredSession, unknown>> | null;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.data === "object" &&
    r.data !== null &&
    isDate(r.expiresAt) &&
    isDate(r.createdAt) &&
    isDate(r.updatedAt) &&
    (r.absoluteExpiresAt === null || isDate(r.absoluteExpiresAt)) &&
    Number.isInteger(r.schemaVersion) &&
    Number.isInteger(r.rev) &&
    (r.successorId === null || typeof r.successorId === "string")
  );
}
