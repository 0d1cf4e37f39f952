/**
 * The seam between the core and every backend. Types only: a store is plain CRUD over
 * already-encoded records and never sees Zod, superjson or tokens (it is keyed by the
 * token's SHA-256). All policy (expiry maths, validation, rotation rules) lives in the core,
 * which passes `now` in so that one injected clock decides every expiry.
 *
 * Every method is one round trip to the backend, returns a Promise, and is wrapped by the
 * core in a timeout and a `SessionStoreError`; a store may simply let its driver throw.
 */

/** A JSON value as superjson's `json` / `meta` output. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One session key, encoded on its own so that a save can send only what changed. */
export interface StoredEntry {
  /** superjson's `json` for this value. */
  json: JsonValue;
  /** superjson's `meta` (types that JSON cannot carry: Date, Map, Set, BigInt, undefined). */
  meta?: JsonValue;
  /** This key's own expiry, epoch ms; the key reads as absent from then on. */
  exp?: number;
  /** Set on a flash value: it survives until read once by `consumeFlash`. */
  flash?: true;
}

/** The `data` object of a record: one entry per session key. */
export type StoredData = Record<string, StoredEntry>;

/** A whole session record as a store keeps it. */
export interface StoredSession {
  /** sha256(token), lowercase hex. Never the token. */
  id: string;
  data: StoredData;
  /** When the session dies (idle expiry already capped by the absolute one). */
  expiresAt: Date;
  /** Hard cap from creation (`absoluteMaxAge`), or null. */
  absoluteExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** The `version` of the schema the data was written under. */
  schemaVersion: number;
  /** Incremented by every write; lets caches refuse to overwrite newer copies. */
  rev: number;
  /**
   * Set when this record is the grace-period shadow of a rotated session: the id of the
   * record that replaced it. Its data is empty and it lives only until the grace ends.
   */
  successorId: string | null;
  /**
   * Optional, from `get` only: the UTF-8 size of `data`'s entries, each as `JSON.stringify(entry)`,
   * summed, when the store read them as text and knows it for free. Lets the core check
   * `maxBytes` on a write without re-serializing what it loaded; a wrong value only shifts that check.
   */
  dataBytes?: number;
  /**
   * Optional, from `get` only, for a store with its own measure (`entryBytes`): the size of
   * `data` by that measure, Σ `entryBytes` over its entries, when the store knows it for free
   * (`drizzleStore`: the length of the jsonb text it reads). Not copied into caches or snapshots,
   * whose records the core measures itself.
   */
  measuredBytes?: number;
}

/** A key-level change to a live record: merge `set`, remove `deleted`, move the expiry. */
export interface SessionPatch {
  /** Entries to write; each replaces that key's entry. */
  set: StoredData;
  /** Keys to remove. A key is never in both `set` and `deleted`. */
  deleted: string[];
  expiresAt: Date;
  updatedAt: Date;
  schemaVersion: number;
  /**
   * The record's data must stay within this many bytes after the patch, measured as the sum of
   * `entryBytes` over its entries. The store checks it atomically with the write (so concurrent
   * patches of different keys cannot grow a record past it) and, when the result would be larger,
   * writes nothing and throws `SessionTooLargeError`. A patch that does not grow the record is
   * always applied, so a record already past the limit (a lowered `maxBytes`) can still shrink.
   */
  maxBytes: number;
  /**
   * When the core gives up on this call (`updatedAt` + `storeTimeout`). A driver can hold a
   * query while it reconnects and send it seconds later, after its caller was told it failed
   * and another write landed. A call that finds the record written by a call stamped later than
   * `notAfter` (its `updatedAt`) is such a late arrival: it writes nothing and throws
   * `SessionStoreError`, so it cannot undo a newer write. Absent: no such check.
   */
  notAfter?: Date | undefined;
  /**
   * What the core knows of the result, when it holds the record exactly as the store does at
   * `rev` (no other write landed since it read or wrote it): the size the data will have after
   * this patch, as the sum of `entryBytes` over its entries (the store's own measure when it has
   * one). A store may check `maxBytes` against `bytes` instead of measuring, but only when its
   * record is still at `rev`, atomically with the write (every write adds one to `rev`); at any
   * other `rev` it must measure. Absent: the store measures.
   */
  expected?: { rev: number; bytes: number } | undefined;
}

/** Equality filter on session fields (indexed columns where the store has them). */
export type Where = Record<string, string | number | boolean>;

export interface SessionStore {
  /**
   * The live record, or null when absent or expired at `now`. An expired record found
   * here may be deleted by the store (lazily), never returned. A record that exists but cannot
   * be read (garbage metadata, a torn file) throws `SessionCorruptError`: a data problem, not an outage.
   */
  get(id: string, now: Date): Promise<StoredSession | null>;

  /** Insert a new record (a new session's first save). Never overwrites a live one. */
  create(record: StoredSession): Promise<void>;

  /**
   * Replace the whole record of a live session (`clear()`, migrated data). Update-only:
   * returns the new rev, or null when the record is gone or expired (nothing is written).
   * `notAfter` as in `SessionPatch.notAfter`.
   */
  replace(record: StoredSession, now: Date, notAfter?: Date): Promise<number | null>;

  /**
   * Apply a key-level patch atomically to a live record. Update-only: returns the new rev,
   * or null when the record is gone or expired (nothing is written, nothing re-inserted).
   */
  patch(id: string, patch: SessionPatch, now: Date): Promise<number | null>;

  /**
   * Move only the expiry of a live record (the throttled rolling refresh); the data is not
   * rewritten. Returns false when the record is gone or expired.
   */
  touch(id: string, expiresAt: Date, now: Date): Promise<boolean>;

  /**
   * Atomically retire `oldId` and insert `record` under its new id. Without a grace period
   * the old record is deleted; with one (`graceUntil`) it is emptied and kept until then as a
   * shadow pointing at the new id. Returns false (writing nothing) when `oldId` is gone or
   * expired.
   */
  rotate(oldId: string, record: StoredSession, graceUntil: Date | null, now: Date): Promise<boolean>;

  /** Delete one record. Deleting an absent record is not an error. */
  delete(id: string): Promise<void>;

  /** Live records whose fields equal every value of `where`, newest first. */
  find(where: Where, now: Date, options?: { limit?: number }): Promise<StoredSession[]>;

  /**
   * Delete every record matching `where` except `exceptId`; returns the ids that went, so a
   * cache in front of the store can drop its copies of exactly those.
   */
  deleteWhere(where: Where, options?: { exceptId?: string }): Promise<string[]>;

  /** Delete up to `batchSize` records expired at `now`; returns how many went in this call. */
  purgeExpired(now: Date, batchSize: number): Promise<number>;

  /**
   * Optional: the size of one entry as this store measures it for `maxBytes`, in bytes. The core
   * checks `set()` with the same measure, so a write it accepted is not refused by the store's
   * check at save. @default the UTF-8 length of `JSON.stringify(entry)`
   */
  entryBytes?(key: string, entry: StoredEntry): number;

  /** Optional, for operators (the `tesserae` CLI): counts, sizes and frequent indexed values. */
  stats?(now: Date, options: { top: number }): Promise<StoreStats>;

  /** Optional, for operators: how many records are expired at `now` and not yet purged. */
  countExpired?(now: Date): Promise<number>;

  /** Optional, for operators: reclaim the space of purged records (Postgres: `VACUUM (ANALYZE)`). */
  vacuum?(): Promise<void>;
}

/** What `SessionStore.stats` reports. */
export interface StoreStats {
  /** Records not expired (grace shadows of rotated sessions excluded). */
  live: number;
  /** Records expired and not yet purged. */
  expired: number;
  createdLastHour: number;
  createdLastDay: number;
  /** Size of live records' data as the store holds it, in bytes. */
  bytes: { p50: number; p95: number; max: number };
  /** Per indexed field, its most frequent values among live records. */
  top: { field: string; values: { value: string | number | boolean; sessions: number }[] }[];
}

/**
 * A cache in front of a store (Django's `cached_db`), as `defineSession({ store, cache })`
 * uses it. The store stays the source of truth: the core writes to the store first and then
 * tells the cache. Every method is one round trip and may fail; the core treats a failing
 * cache as absent (it never fails a request) and backs off before trying it again.
 *
 * Copies carry the record's `rev`. A cache must never let an older copy replace a newer one,
 * nor a fill that started before a delete bring a deleted session back: `put` is guarded by
 * `rev` and by the marks `patch` and `invalidate` leave behind.
 */
export interface SessionCache {
  /**
   * Optional: the longest a copy or mark lives, in ms (the cache's `ttl`). After an outage too
   * long to remember every missed invalidation, the core skips the cache for this long.
   */
  readonly ttlMs?: number;
  /** The cached copy, or null (absent, or only a mark). Expiry is checked by the core. Throws `SessionCorruptError` for an unreadable copy. */
  get(id: string): Promise<StoredSession | null>;
  /**
   * Store `record` unless the cache holds a copy or a mark at `record.rev` or newer, or a
   * tombstone. Lives at most until the session expires and at most the cache's own ttl.
   */
  put(record: StoredSession, now: Date): Promise<void>;
  /**
   * After the store applied `patch` and answered `rev`: apply it to a copy at `rev - 1`;
   * otherwise drop any copy and leave a mark at `rev`, so that a slower fill of an older row
   * cannot land afterwards.
   */
  patch(id: string, patch: SessionPatch, rev: number, now: Date): Promise<void>;
  /** After the store moved only the expiry: move the copy's expiry too (no rev change). */
  touch(id: string, expiresAt: Date, now: Date): Promise<void>;
  /** After the store deleted these records: drop the copies and leave tombstones for the cache's ttl. */
  invalidate(ids: readonly string[]): Promise<void>;
}

/**
 * A store that keeps the whole record in the cookie itself (Django's `signed_cookies`): sealed
 * (signed, optionally compressed and encrypted) by `seal`, verified by `open`. There is no
 * server state, so nothing can be revoked or listed before a cookie expires.
 *
 * Every method takes the cookie's `name` (the manager's `cookie.name`): a seal is bound to it,
 * so a value sealed for one cookie name never opens under another, even with the same secret (B11).
 */
export interface CookieSessionStore {
  readonly kind: "cookie";
  /**
   * The record a cookie value carries, or null when the value is not a valid seal for the cookie
   * `name` by one of the secrets (tampered, truncated, wrong secret, another cookie's name, an
   * unknown or retired format) or the record inside has expired at `now`. `resign` is true when a
   * previous secret verified it, so the core seals it again with the current one. Never throws
   * for bad input.
   */
  open(value: string, now: Date, name: string): Promise<{ record: StoredSession; resign: boolean } | null>;
  /** The cookie value carrying `record` for the cookie `name`, signed (and encrypted, if configured) with the current secret. */
  seal(record: StoredSession, name: string): Promise<string>;
  /**
   * Synchronously, the length in characters of the value `seal(record, name)` would give, for
   * `record` or any record that differs from it only in its dates: exact where the runtime
   * can deflate synchronously, else an upper bound. Lets the core refuse a write at `set()`
   * whose cookie would not fit, instead of failing at commit (B8).
   */
  sealedLength(record: StoredSession, name: string): number;
}
