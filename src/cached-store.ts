import { isTesseraError, SessionStoreError } from "./errors.js";
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
/** Stale ids remembered during an outage (~100 bytes each); past it the cache is distrusted instead. */
const MAX_STALE = 100_000;
const CORRUPT = Symbol("corrupt copy");
/** How long reads skip a cache whose copies' lifetime is unknown (`SessionCache.ttlMs` unset). */
const MAX_DISTRUST_MS = 24 * 3600 * 1000;

/**
 * Django's `cached_db` as one decorator over any store: reads try the cache and fall back to
 * the store (then fill the cache); writes go to the store first, the source of truth, then to
 * the cache. The cache is an optimisation and never fails a request: a failing or slow cache
 * is skipped, reported once, and probed again after a back-off (1 s, doubling to 30 s).
 *
 * Not atomic across the two: a cache write that fails after the store write leaves the old copy
 * in the cache. Such ids are remembered and invalidated before the cache is used again, and for
 * the cache's ttl after an outage reads go to the store (B10); the rev-guard and marks of
 * `SessionCache` keep every other interleaving safe.
 */
export function withCache(store: SessionStore, cache: SessionCache, options: WithCacheOptions = {}): SessionStore {
  const timeoutMs = options.timeoutMs ?? 250;
  const clock = options.now ?? Date.now;
  let down = false;
  let retryAt = 0;
  let backoffMs = FIRST_BACKOFF_MS;
  /**
   * B10: ids whose copy may be stale because the cache missed their invalidation or update
   * (skipped during the back-off, or failed). They are invalidated before the cache is trusted
   * again, so a revoke made during an outage is not undone by the copy once Redis is back.
   */
  const stale = new Set<string>();
  /**
   * Reads skip the cache until this instant: for the cache's ttl after an outage (every copy from
   * before it has then aged out), since other processes may have revoked sessions meanwhile
   * whose copies this one cannot know of; and past `MAX_STALE` ids.
   */
  let distrustUntil = 0;

  function failed(): undefined {
    if (down) backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    else {
      down = true;
      options.onStateChange?.("down");
    }
    retryAt = clock() + backoffMs;
    return undefined;
  }

  async function bounded<T>(call: () => Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new SessionStoreError("the session cache did not answer within cacheTimeout")),
          timeoutMs,
        );
      });
      return await Promise.race([call(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Applies the invalidations the cache missed; the cache is not used until they are in. */
  async function catchUp(): Promise<boolean> {
    if (stale.size === 0) return true;
    const ids = [...stale];
    try {
      await bounded(() => cache.invalidate(ids));
    } catch {
      return false;
    }
    for (const id of ids) stale.delete(id);
    return true;
  }

  async function use<T>(call: () => Promise<T>): Promise<T | undefined> {
    if (down && clock() < retryAt) return undefined;
    try {
      if (!(await catchUp())) return failed();
      const result = await bounded(call);
      if (down) {
        down = false;
        backoffMs = FIRST_BACKOFF_MS;
        distrustUntil = Math.max(distrustUntil, clock() + (cache.ttlMs ?? MAX_DISTRUST_MS));
        options.onStateChange?.("up");
      }
      return result;
    } catch {
      return failed();
    }
  }

  /** A write the cache must learn about; when it does not, the id's copy is marked stale. */
  async function tell(ids: readonly string[], call: () => Promise<unknown>): Promise<void> {
    if (ids.length === 0) return;
    const told = await use(async () => {
      await call();
      return true;
    });
    if (told === true) return;
    for (const id of ids) stale.add(id);
    if (stale.size > MAX_STALE) {
      // Too many to remember: forget them and keep reads off the cache for as long as a copy may live.
      stale.clear();
      distrustUntil = Math.max(distrustUntil, clock() + (cache.ttlMs ?? MAX_DISTRUST_MS));
    }
  }

  const fill = (record: StoredSession, now: Date) => tell([record.id], () => cache.put(record, now));
  const drop = (ids: readonly string[]) => tell(ids, () => cache.invalidate(ids));

  async function cached(id: string): Promise<StoredSession | null | undefined> {
    const copy = await use(async () => {
      try {
        return await cache.get(id);
      } catch (error) {
        // A corrupt copy is a data problem, not an outage: not counted as the cache failing.
        if (isTesseraError(error) && error.code === "SESSION_CORRUPT") return CORRUPT;
        throw error;
      }
    });
    if (copy !== CORRUPT) return copy;
    await drop([id]);
    return undefined;
  }

  return {
    async get(id, now) {
      const copy = clock() < distrustUntil ? undefined : await cached(id);
      // Checked after the read too: the read that finds the cache back starts the window itself.
      const distrusted = clock() < distrustUntil;
      if (copy && !distrusted && copy.expiresAt.getTime() > now.getTime()) return copy;
      const record = await store.get(id, now);
      if (record !== null && record.successorId === null) await fill(record, now);
      // A copy may outlive a revoke this process never heard of: gone in the store, gone in the cache.
      else if (record === null && distrusted) await drop([id]);
      return record;
    },
    async create(record) {
      await store.create(record);
      await fill(record, record.updatedAt);
    },
    async replace(record, now, notAfter?) {
      const rev = await store.replace(record, now, notAfter);
      if (rev === null) await drop([record.id]);
      else await fill({ ...record, rev }, now);
      return rev;
    },
    async patch(id, patch, now) {
      const rev = await store.patch(id, patch, now);
      if (rev === null) await drop([id]);
      else await tell([id], () => cache.patch(id, patch, rev, now));
      return rev;
    },
    async touch(id, expiresAt, now) {
      const touched = await store.touch(id, expiresAt, now);
      if (touched) await tell([id], () => cache.touch(id, expiresAt, now));
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
    ...(store.entryBytes ? { entryBytes: store.entryBytes.bind(store) } : {}),
    // Operator queries read the source of truth; purged records were expired, so no copy is served.
    ...(store.stats ? { stats: store.stats.bind(store) } : {}),
    ...(store.countExpired ? { countExpired: store.countExpired.bind(store) } : {}),
    ...(store.vacuum ? { vacuum: store.vacuum.bind(store) } : {}),
  } satisfies SessionStore;
}
