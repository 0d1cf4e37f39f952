import type { SessionCache, SessionStore, StoredSession } from "./store.js";

/** Options of `withCache`. */
export interface WithCacheOptions {
  /** Upper bound on each cache call, in ms; past it the cache counts as down. @default 250 */
  timeoutMs?: number;
  /** Called once when the cache starts failing, and once when it answers again. */
  onStateChange?: (state: "down" | "up") => void;
  /** Real time for the back-off (not the session clock). @default Date.now */
  now?: () => number;
}

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;

/**
 * Django's `cached_db` as one decorator over any store: reads try the cache and fall back to
 * the store (then fill the cache); writes go to the store first, the source of truth, then to
 * the cache. The cache is an optimisation and never fails a request: a failing or slow cache
 * is skipped, reported once, and probed again after a back-off (1 s, doubling to 30 s).
 *
 * Not atomic across the two: a cache write that fails after the store write leaves the old
 * copy in the cache until the cache's ttl (a logout during a cache outage can be served for
 * that long); the rev-guard and marks of `SessionCache` keep every other interleaving safe.
 */
export function withCache(store: SessionStore, cache: SessionCache, options: WithCacheOptions = {}): SessionStore {
  const timeoutMs = options.timeoutMs ?? 250;
  const clock = options.now ?? Date.now;
  let down = false;
  let retryAt = 0;
  let backoffMs = FIRST_BACKOFF_MS;

  async function use<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (down && clock() < retryAt) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("cache timeout")), timeoutMs);
      });
      const result = await Promise.race([call(), timeout]);
      if (down) {
        down = false;
        backoffMs = FIRST_BACKOFF_MS;
        options.onStateChange?.("up");
      }
      return result;
    } catch {
      if (down) backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      else {
        down = true;
        options.onStateChange?.("down");
      }
      retryAt = clock() + backoffMs;
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
  const fill = (record: StoredSession, now: Date) => use(() => cache.put(record, now));
  const drop = (ids: readonly string[]) => (ids.length === 0 ? undefined : use(() => cache.invalidate(ids)));

  return {
    async get(id, now) {
      const cached = await use(() => cache.get(id));
      if (cached && cached.expiresAt.getTime() > now.getTime()) return cached;
      const record = await store.get(id, now);
      if (record !== null && record.successorId === null) await fill(record, now);
      return record;
    },
    async create(record) {
      await store.create(record);
      await fill(record, record.updatedAt);
    },
    async replace(record, now) {
      const rev = await store.replace(record, now);
      if (rev === null) await drop([record.id]);
      else await fill({ ...record, rev }, now);
      return rev;
    },
    async patch(id, patch, now) {
      const rev = await store.patch(id, patch, now);
      if (rev === null) await drop([id]);
      else await use(() => cache.patch(id, patch, rev, now));
      return rev;
    },
    async touch(id, expiresAt, now) {
      const touched = await store.touch(id, expiresAt, now);
      if (touched) await use(() => cache.touch(id, expiresAt, now));
      else await drop([id]);
      return touched;
    },
    async rotate(oldId, record, graceUntil, now) {
      const rotated = await store.rotate(oldId, record, graceUntil, now);
      await drop([oldId]);
      if (rotated) await fill(record, now);
      return rotated;
    },
    async delete(id) {
      await store.delete(id);
      await drop([id]);
    },
    find: (where, now, options) => store.find(where, now, options),
    async deleteWhere(where, options) {
      const ids = await store.deleteWhere(where, options);
      await drop(ids);
      return ids;
    },
    purgeExpired: (now, batchSize) => store.purgeExpired(now, batchSize),
    // Operator queries read the source of truth; purged records were expired, so no copy is served.
    ...(store.stats ? { stats: store.stats.bind(store) } : {}),
    ...(store.countExpired ? { countExpired: store.countExpired.bind(store) } : {}),
    ...(store.vacuum ? { vacuum: store.vacuum.bind(store) } : {}),
  } satisfies SessionStore;
}
