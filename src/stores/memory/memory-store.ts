import { SessionStoreError } from "../../errors.js";
import type { SessionPatch, SessionStore, StoredSession, Where } from "../../store.js";

/** Options of `memoryStore`. */
export interface MemoryStoreOptions {
  /** The map to keep records in; pass one to share it between stores in a test. @default new Map() */
  map?: Map<string, StoredSession>;
}

/**
 * Sessions in a `Map`, for tests and development. Records are deep-copied in and out, as a
 * real backend serializes them, so code that works here does not rely on shared objects.
 * Every method is atomic (single-threaded JavaScript, no await inside).
 * @example defineSession({ schema, store: memoryStore() })
 */
export function memoryStore(options: MemoryStoreOptions = {}) {
  const map = options.map ?? new Map<string, StoredSession>();
  const live = (id: string, now: Date): StoredSession | undefined => {
    const record = map.get(id);
    if (record === undefined) return undefined;
    if (record.expiresAt.getTime() > now.getTime()) return record;
    map.delete(id);
    return undefined;
  };
  const matches = (record: StoredSession, where: Where) =>
    Object.entries(where).every(([key, value]) => record.data[key]?.json === value);

  return {
    async get(id, now) {
      const record = live(id, now);
      return record === undefined ? null : structuredClone(record);
    },
    async create(record) {
      if (map.has(record.id)) throw new SessionStoreError("a session with this id already exists");
      map.set(record.id, structuredClone(record));
    },
    async replace(record, now) {
      const current = live(record.id, now);
      if (current === undefined) return null;
      const rev = current.rev + 1;
      map.set(record.id, { ...structuredClone(record), rev });
      return rev;
    },
    async patch(id, patch: SessionPatch, now) {
      const current = live(id, now);
      if (current === undefined) return null;
      for (const key of patch.deleted) delete current.data[key];
      Object.assign(current.data, structuredClone(patch.set));
      current.expiresAt = patch.expiresAt;
      current.updatedAt = patch.updatedAt;
      current.schemaVersion = patch.schemaVersion;
      current.rev += 1;
      return current.rev;
    },
    async touch(id, expiresAt, now) {
      const current = live(id, now);
      if (current === undefined) return false;
      current.expiresAt = expiresAt;
      return true;
    },
    async rotate(oldId, record, graceUntil, now) {
      const old = live(oldId, now);
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
        .filter((record) => record.expiresAt.getTime() > now.getTime() && record.successorId === null && matches(record, where))
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
        if (record.expiresAt.getTime() <= now.getTime()) {
          map.delete(record.id);
          count++;
        }
      }
      return count;
    },
  } satisfies SessionStore;
}
