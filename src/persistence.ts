import type { ResolvedCookie, SessionCookie } from "./cookie.js";
import type { CookieCache } from "./cookie-cache.js";
import type { SessionEvent } from "./events.js";
import type { ExpiryOverride, ExpiryPolicy } from "./expiry.js";
import type { ResolvedLegacy } from "./legacy.js";
import type { OperatorContext, SessionOperator } from "./operator.js";
import type { SchemaRuntime, SessionSchema } from "./schema.js";
import type { PendingChanges as ContentChanges, EntryMeasure, SessionContents } from "./session-contents.js";
import type { StoredData, StoredSession, Where } from "./store.js";

/** What every session of a manager shares; built once by `defineSession`. */
export interface SessionContext {
  runtime: SchemaRuntime;
  /** Where records live: a server-side store, or the cookie itself. */
  persistence: Persistence;
  cookie: ResolvedCookie;
  policy: ExpiryPolicy;
  nowMs(): number;
  maxBytes: number;
  /** The cookie-cache tier (`cookieCache`), on a server-side store only. */
  cookieCache: CookieCache | undefined;
  /** The legacy cookie accepted once (`legacy`), on a server-side store only. */
  legacy?: ResolvedLegacy | undefined;
  emit(type: SessionEvent["type"], id: string | null, extra?: Omit<SessionEvent, "type" | "tag">): void;
}

/** What a save sent: the contents' changes and the expiry policy's change count. */
export type PendingChanges = ContentChanges & { readonly policyChanges: number };

/**
 * A session as its persistence sees it (`SessionState` is the one implementation): the record
 * it came from, the value its cookie carries, its data, and the cookie the response must send.
 */
export interface PersistedSession {
  readonly ctx: SessionContext;
  readonly data: SessionContents;
  /** The cookie's value: a token, or for a cookie store the sealed record. */
  token: string | null;
  id: string | null;
  record: StoredSession | null;
  cookie: "set" | "clear" | null;
  readonly hadCookie: boolean;
  /** Reached through the old token of a session rotated within `rotationGrace`. */
  readonly viaGrace: boolean;
  /**
   * Since when every key of `data` is known equal to the store's: the start of the read it
   * was loaded by, or the last whole-record write. A patch leaves it (docs/decisions.md,
   * cookie cache); null when unknown.
   */
  freshAt: number | null;
  /**
   * The store's `rev` at which its data is `data` before this request's unsaved changes: set by
   * the load and by each write that leaves the store holding exactly that; null once a write
   * answered a `rev` that shows another write landed in between (`SessionPatch.expected`).
   */
  heldRev: number | null;
  /** `data` came from a cookie-cache snapshot: a whole-record write reads the store first. */
  fromSnapshot: boolean;
  /** A patch was saved since `record.data` was set. */
  dataWritten: boolean;
  /** This request saved data (a patch or a whole-record write) to the store. */
  wroteData: boolean;
  /** A snapshot-loaded session's first write checked the store (`checkSnapshot`). */
  snapshotChecked: boolean;
  /** `setExpiry` changed the cookie's lifetime since the last save. */
  policyChanged: boolean;
  /** The record must be written out again (previous secret, rotated cookie) even if nothing changed. */
  reseal: boolean;
  /** The expiry the next save stores. */
  nextExpiry(nowMs: number): number;
  /** The stored expiry would move far enough (`touchAfter`) to be written and re-sent. */
  touchDue(nowMs: number): boolean;
  /** The session's own expiry override (`setExpiry`), from `data` or the current data. */
  override(data?: StoredData): ExpiryOverride | undefined;
  /** The whole record as a full write (insert, replace, rotation, seal) stores it. */
  fullRecord(id: string, nowMs: number): StoredSession;
  /** What a save is about to send, for `saved` once the store has it. */
  pending(): PendingChanges;
  /** The store holds `record`; what `sent` described is saved, changes made meanwhile stay pending. */
  saved(record: StoredSession, sent: PendingChanges): void;
  /** B14: a new session already expired on purpose is never written (and its cookie is cleared). */
  expiredOnPurpose(nowMs: number): boolean;
  /** The session is gone: a fresh one from here, its cookie cleared if it had one. */
  ended(): void;
  /** Another request removed the record: emits `interrupted` and throws `SessionInterruptedError`. */
  interrupted(id: string, reason?: string): never;
  /**
   * Loaded through a legacy cookie (`legacy`), not yet rotated to a Tessera token: a rotation
   * leaves the legacy record as an empty shadow until the imported session would have expired, so
   * the legacy cookie is accepted once and a re-run of the import cannot bring it back.
   */
  readonly legacyPending: boolean;
  /** The cookie carrying `value` for a record expiring at `expiresAt`. */
  cookieFor(value: string, expiresAt: Date, nowMs: number): SessionCookie;
}

/** A record a cookie's value leads to, before its data is hydrated. */
export interface OpenedRecord {
  record: StoredSession;
  /** The cookie value naming it, or null when it was reached through a rotation grace (its token is unknown). */
  token: string | null;
  /** Write it out again at the next commit even if nothing changes (sealed under a previous secret). */
  resign: boolean;
  /** Reached through the old token of a rotated session (B4). */
  viaGrace: boolean;
}

/**
 * Where a session's record lives, and how it is opened, saved, rotated and destroyed there: a
 * record in a server-side store behind a random token (`serverRecord`), or the record itself
 * sealed into the cookie (`sealedCookie`, in the cookie store's folder). The session and the
 * manager hold one and never ask which. Events of a lookup (`unknown`, `tampered`, `corrupt`)
 * are the persistence's to emit; the rest are the session's.
 */
export interface Persistence {
  /** `maxBytes` when the app sets none. */
  readonly defaultMaxBytes: number;
  /** How the store sizes an entry for `maxBytes`, when it has its own measure (`SessionStore.entryBytes`). */
  readonly entryBytes: EntryMeasure | undefined;
  /** Refuses, at the write, data this persistence could not keep (B8: a cookie over 4096 bytes). */
  readonly checkFits: ((state: PersistedSession, data: StoredData) => void) | undefined;

  /** The record a cookie value (or a token passed to `sessions.get`) leads to, or null: unknown, expired, tampered. */
  open(value: string): Promise<OpenedRecord | null>;
  /** Drops a record whose data could not be loaded (corrupt, or invalid under `onInvalid: "reset"`, R43). */
  drop(id: string): Promise<void>;
  /** Persists what changed; sets `state.cookie` when the response must carry a cookie. */
  save(state: PersistedSession, nowMs: number): Promise<void>;
  /** The same data under a new identity (Django's `cycle_key`). */
  rotate(state: PersistedSession, nowMs: number): Promise<void>;
  /** Ends the session (Django's `flush`); the state continues as a fresh one. */
  destroy(state: PersistedSession): Promise<void>;

  /** `sessions.destroy(token)`: true when a session was there. */
  destroyToken(token: string): Promise<boolean>;
  /** Live records whose fields match, newest first. */
  find(where: Where, now: Date, limit: number | undefined): Promise<StoredSession[]>;
  /** Deletes the records whose fields match but `exceptId`; returns how many went. */
  deleteWhere(where: Where, exceptId: string | undefined): Promise<number>;
  /** Deletes up to `batchSize` records expired by `now`; returns how many went. */
  purgeExpired(now: Date, batchSize: number): Promise<number>;
  /**
   * Server-side only, for `legacy`: the live record stored under `id` (a legacy session's id),
   * or null: absent, expired, or a shadow (the legacy cookie was already used once). Within
   * `followMs` of that claim, a shadow leads to the session it made (`viaGrace`).
   */
  openLegacy?(id: string, followMs: number): Promise<OpenedRecord | null>;
  /**
   * Server-side only, for the importer: inserts `record` and its `marker` (an empty shadow that
   * outlives whatever happens to the record) unless the store holds the marker or a record (live
   * or a shadow) under its id; with `dryRun`, only looks. A create that finds the id taken by a
   * concurrent import is "exists", never an error.
   */
  adopt?(record: StoredSession, marker: StoredSession, dryRun: boolean): Promise<"created" | "exists">;
  /** The operator surface (`sessions.operator`) over these records. */
  operator<S extends SessionSchema>(context: Omit<OperatorContext, "store">): SessionOperator<S>;
}
