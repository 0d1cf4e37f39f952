import { clearingCookie, type SessionCookie, sessionCookie } from "./cookie.js";
import { isTesseraError, SessionInterruptedError, SessionUsageError } from "./errors.js";
import { absoluteExpiry, cookieMaxAge, type ExpiryOverride, expiryAt, isTouchDue } from "./expiry.js";
import { parseExpiry } from "./expiry-entry.js";
import type { PendingChanges, PersistedSession, SessionContext } from "./persistence.js";
import { EXPIRY_KEY, type Hydrated } from "./schema.js";
import { SessionContents } from "./session-contents.js";
import type { StoredData, StoredSession } from "./store.js";

/** How a session starts: fresh, or from a stored record. */
export interface SessionInit {
  /** The cookie's value when it named this record; null for a fresh session or one reached through a rotation grace. */
  token: string | null;
  record: StoredSession | null;
  hydrated: Hydrated | null;
  /** The request carried a session cookie, so a fresh session must clear it once destroyed. */
  hadCookie: boolean;
  /** The record must be written out again even if nothing changes (a cookie sealed under a previous secret). */
  resign?: boolean;
  /** Reached through the old token of a session rotated within `rotationGrace` (a grace shadow). */
  viaGrace?: boolean;
  /** Since when `record`'s data is known equal to the store's (the start of the read that found it). */
  freshAt?: number;
  /** The request carried a cookie-cache snapshot cookie; `mark` when the record came from it. */
  snapshot?: { mark: string | null };
  /**
   * The request carried a legacy cookie (`legacy`) and no session cookie: `clearing` clears it
   * once a Tessera cookie is set; `pending` when `record` is the imported session it named.
   */
  legacy?: { clearing: SessionCookie; pending: boolean };
}

/**
 * A session between its load and its commit: the record it came from, the token (or sealed
 * value) its cookie carries, its data, and which cookie the response must send. `Session` is the
 * typed API over it; its `Persistence` saves, rotates and destroys it. The expiry arithmetic
 * both kinds of persistence share lives here.
 */
export class SessionState implements PersistedSession {
  readonly ctx: SessionContext;
  readonly data: SessionContents;
  /** The cookie's value: a token, or for a cookie store the sealed record. */
  token: string | null;
  id: string | null;
  record: StoredSession | null;
  /** `setExpiry` (or a `clear()` that dropped its override) changed the cookie's lifetime: the next save re-sends it. */
  policyChanged = false;
  /** Counts `policyChanged` being set, so a save in flight does not clear a later one. */
  policyChanges = 0;
  cookie: "set" | "clear" | null = null;
  readonly hadCookie: boolean;
  /** The record must be written out again (previous secret, rotated cookie) even if nothing changed. */
  reseal: boolean;
  /** Set by an adapter once the response carrying the cookie has started: changes are refused (R20). */
  lockedBecause: string | null = null;
  /** Reached through a grace shadow: identity changes are refused (B4), data writes go to the rotated record. */
  readonly viaGrace: boolean;
  freshAt: number | null;
  heldRev: number | null;
  fromSnapshot: boolean;
  dataWritten = false;
  wroteData = false;
  snapshotChecked = false;
  /** The session was loaded from a cookie-cache snapshot the browser holds (not from the store). */
  readonly loadedFromSnapshot: boolean;
  /** The browser may hold a cookie-cache snapshot: the request carried one, or a commit sent one. */
  snapshotHeld: boolean;
  /** Which snapshot the browser holds, when it is known to be this session's current one. */
  snapshotMark: string | null;
  /** Loaded through a legacy cookie and not yet rotated: the next commit rotates it (docs/migrating.md). */
  legacyPending: boolean;
  /** The header clearing the legacy cookie, sent with the first Tessera cookie of this request. */
  readonly legacyClearing: SessionCookie | null;
  /**
   * The response cannot deliver a new cookie (set by an adapter): a pending legacy session is not
   * claimed, so its old cookie still works next time. "abandoned": the client hung up, nothing is
   * saved; "no-cookies": a change throws `SessionUsageError` before anything is stored.
   */
  legacyHeld: "abandoned" | "no-cookies" | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(ctx: SessionContext, init: SessionInit) {
    this.ctx = ctx;
    this.token = init.token;
    this.record = init.record;
    this.id = init.record?.id ?? null;
    const { persistence } = ctx;
    const fits = persistence.checkFits === undefined ? undefined : (data: StoredData) => persistence.checkFits?.(this, data);
    this.data = new SessionContents(ctx.runtime, ctx.nowMs, ctx.maxBytes, init.hydrated, persistence.entryBytes, fits);
    this.hadCookie = init.hadCookie;
    this.reseal = init.resign ?? false;
    this.viaGrace = init.viaGrace ?? false;
    this.freshAt = init.freshAt ?? null;
    this.heldRev = init.record?.rev ?? null;
    this.snapshotHeld = init.snapshot !== undefined;
    this.snapshotMark = init.snapshot?.mark ?? null;
    this.fromSnapshot = this.snapshotMark !== null;
    this.loadedFromSnapshot = this.fromSnapshot;
    this.legacyPending = init.legacy?.pending ?? false;
    this.legacyClearing = init.legacy?.clearing ?? null;
  }

  /**
   * Saves, rotations and destroys of one session run one at a time, in call order: the
   * procedures of a tRPC batch share one session and commit concurrently, and two saves in
   * flight at once would both insert a new session, or rotate from under each other.
   */
  exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  save(): Promise<void> {
    return this.exclusive(() => (this.legacyPending ? this.saveLegacy() : this.ctx.persistence.save(this, this.ctx.nowMs())));
  }

  /**
   * An explicit `save()` of a session still pending its legacy claim claims it first, as
   * `commit()` and `destroy()` do: a write under the legacy id would roll the imported record's
   * expiry past the legacy store's own and keep the old cookie alive. Held (the response cannot
   * carry the new cookie), it stores nothing, as the held commit does.
   */
  private async saveLegacy(): Promise<void> {
    if (this.legacyHeld !== null) {
      this.heldLegacyCommit();
      return;
    }
    const now = this.ctx.nowMs();
    await this.retireLegacy(now);
    if (!this.lostLegacyRace) await this.ctx.persistence.save(this, now);
  }

  rotate(): Promise<void> {
    return this.exclusive(async () => {
      await this.ctx.persistence.rotate(this, this.ctx.nowMs());
      this.legacyPending = false;
    });
  }

  destroy(): Promise<void> {
    return this.exclusive(async () => {
      // Rotated first, so the legacy record stays a shadow and a re-run of the import cannot revive it.
      if (this.legacyPending) await this.retireLegacy(this.ctx.nowMs());
      await this.ctx.persistence.destroy(this);
      this.data.reset();
    });
  }

  /**
   * A session loaded through a legacy cookie moves to a Tessera token at its first commit (or
   * destroy). Requests that loaded it concurrently race: the first rotation wins; a loser that
   * changed nothing commits nothing (no cookie: the winner's response carries it), one that did
   * gets `SessionInterruptedError`, as any write racing a rotation without `rotationGrace`.
   */
  async retireLegacy(nowMs: number): Promise<void> {
    if (!this.legacyPending) return;
    try {
      // Still pending while the rotation runs: it leaves the legacy record as a shadow (server-record.ts).
      if (this.token === null && this.record !== null) await this.ctx.persistence.rotate(this, nowMs);
    } catch (error) {
      const lost = isTesseraError(error) && error.code === "SESSION_INTERRUPTED";
      if (!lost || this.policyChanged) throw error;
      if (!this.data.isModified) this.lostLegacyRace = true;
      // Another request claimed it first: within the follow window its writes go to the session
      // that claim made, as a patch and without a cookie (the winner's response carries it).
      else if (!(await this.followClaim())) throw error;
    } finally {
      this.legacyPending = false;
    }
  }

  /** Switches to the session another request's claim of this legacy record made, if still followed. */
  private async followClaim(): Promise<boolean> {
    const legacyId = this.record?.id;
    const open = this.ctx.persistence.openLegacy;
    const followMs = this.ctx.legacy?.followMs ?? 0;
    if (legacyId === undefined || open === undefined || followMs === 0) return false;
    const opened = await open.call(this.ctx.persistence, legacyId, followMs);
    if (opened === null || !opened.viaGrace) return false;
    this.record = opened.record;
    this.id = opened.record.id;
    this.heldRev = null;
    this.freshAt = null;
    return true;
  }

  /** Another request rotated the legacy session first: this one saves and sends nothing. */
  lostLegacyRace = false;

  /** `save()`, then the cookies to send (none when the cookie need not change). */
  commit(): Promise<SessionCookie[]> {
    return this.exclusive(async () => {
      // One instant for the save and the cookie, so Max-Age matches the stored expiry to the second.
      const now = this.ctx.nowMs();
      // Tested first: no extra await on the commit of every other session.
      if (this.legacyPending && this.legacyHeld !== null) return this.heldLegacyCommit();
      if (this.legacyPending) await this.retireLegacy(now);
      if (this.lostLegacyRace) return [];
      await this.ctx.persistence.save(this, now);
      const cookies: SessionCookie[] = [];
      if (this.cookie === "set" && this.token !== null && this.record !== null) {
        cookies.push(this.cookieFor(this.token, this.record.expiresAt, now));
      } else if (this.cookie === "clear") cookies.push(clearingCookie(this.ctx.cookie));
      const cache = this.ctx.cookieCache;
      if (cache !== undefined) cookies.push(...(await cache.cookies(this, now)));
      // The legacy cookie is cleared with the session cookie (set, or cleared by a logout), never
      // alone: a response that cannot set cookies (a Server Component) fails no more often than it did.
      const sendsSession = cookies.some((cookie) => cookie.name === this.ctx.cookie.name);
      if (this.legacyClearing !== null && sendsSession) cookies.push(this.legacyClearing);
      return cookies;
    });
  }

  /**
   * The commit of a pending legacy session whose response cannot carry the new cookie: claiming
   * it would rotate it in the store and lose the token, logging the user out. Nothing is stored.
   */
  heldLegacyCommit(): SessionCookie[] {
    const changed = this.cookie !== null || this.policyChanged || this.data.isModified || this.data.replacesAll;
    if (changed && this.legacyHeld === "no-cookies") {
      throw new SessionUsageError(
        "The session was loaded through its legacy cookie and needs a new cookie for this change, but this response cannot set one: change it where cookies can be set",
      );
    }
    return [];
  }

  /** The cookie carrying `value` for a record expiring at `expiresAt` (a browser-session cookie under `setExpiry(0)`). */
  cookieFor(value: string, expiresAt: Date, nowMs: number): SessionCookie {
    return sessionCookie(this.ctx.cookie, value, cookieMaxAge(this.override(), expiresAt.getTime(), nowMs), new Date(nowMs));
  }

  /** `commit()` at this instant would write nothing and send no `Set-Cookie`: the no-op branches of every save. */
  isSettled(): boolean {
    if (this.cookie !== null || this.policyChanged || this.reseal || this.data.isModified) return false;
    if (this.legacyPending && this.legacyHeld === null) return false;
    if (this.ctx.cookieCache?.due(this, this.ctx.nowMs())) return false;
    if (this.record === null) return !this.data.hasData;
    return !this.touchDue(this.ctx.nowMs());
  }

  /** The stored expiry would move far enough (`touchAfter`) to be written and re-sent. */
  touchDue(nowMs: number): boolean {
    const record = this.record as StoredSession;
    return isTouchDue(this.ctx.policy, record.expiresAt.getTime(), this.nextExpiry(nowMs));
  }

  /** The session's own expiry override (`setExpiry`), from `data` or the current data. */
  override(data?: StoredData): ExpiryOverride | undefined {
    const entry = data === undefined ? this.data.entry(EXPIRY_KEY) : data[EXPIRY_KEY];
    return entry === undefined ? undefined : parseExpiry(entry);
  }

  nextExpiry(nowMs: number): number {
    const record = this.record;
    const override = this.override();
    const createdMs = record?.createdAt.getTime() ?? nowMs;
    const absoluteMs = record ? (record.absoluteExpiresAt?.getTime() ?? null) : absoluteExpiry(this.ctx.policy, createdMs);
    const next = expiryAt(this.ctx.policy, override, nowMs, absoluteMs);
    if (record === null || this.policyChanged || this.data.replacesAll) return next;
    // Writes move the expiry under the same throttle as reads: the cookie is re-sent only when
    // it moved by touchAfter, and an unchanged expires_at keeps Postgres updates HOT.
    const stored = record.expiresAt.getTime();
    const extend = this.ctx.policy.rolling || this.data.isModified;
    return extend && isTouchDue(this.ctx.policy, stored, next) ? next : stored;
  }

  /** The whole record as a full write (insert, replace, rotation, seal) stores it. */
  fullRecord(id: string, nowMs: number): StoredSession {
    const data = this.data.toStoredData();
    const created = this.record?.createdAt ?? new Date(nowMs);
    const absoluteMs = this.record ? (this.record.absoluteExpiresAt?.getTime() ?? null) : absoluteExpiry(this.ctx.policy, nowMs);
    return {
      id,
      data,
      expiresAt: new Date(expiryAt(this.ctx.policy, this.override(), nowMs, absoluteMs)),
      absoluteExpiresAt: absoluteMs === null ? null : new Date(absoluteMs),
      createdAt: created,
      updatedAt: new Date(nowMs),
      schemaVersion: this.ctx.runtime.version,
      rev: 1,
      successorId: null,
    };
  }

  /** What a save is about to send, for `saved` once the store has it. */
  pending(): PendingChanges {
    const sent = this.data.pending();
    // Listed, not spread: `{ ...sent, policyChanges }` (spread, then a property the source lacks)
    // takes V8's slow path, ~2.4 µs on every save.
    return {
      entries: sent.entries,
      values: sent.values,
      deleted: sent.deleted,
      replaceAll: sent.replaceAll,
      clears: sent.clears,
      userDeletes: sent.userDeletes,
      policyChanges: this.policyChanges,
    };
  }

  /** The store holds `record`; what `sent` described is saved, changes made meanwhile stay pending. */
  saved(record: StoredSession, sent: PendingChanges): void {
    this.record = record;
    this.id = record.id;
    this.data.markSaved(sent);
    if (this.policyChanges === sent.policyChanges) this.policyChanged = false;
  }

  policyMoved(): void {
    this.policyChanged = true;
    this.policyChanges++;
  }

  /**
   * B14: a new session whose expiry is already past (`setExpiry(pastDate)`) is never written: it
   * would be a dead record only purge removes. The cookie of a request that had one is cleared.
   */
  expiredOnPurpose(nowMs: number): boolean {
    if (this.nextExpiry(nowMs) > nowMs) return false;
    this.cookie = this.hadCookie ? "clear" : null;
    return true;
  }

  /** The session is gone (destroyed, or expired on purpose): a fresh empty one from here, its cookie cleared if it had one. */
  ended(): void {
    const stored = this.record !== null;
    this.token = null;
    this.id = null;
    this.record = null;
    this.policyChanged = false;
    this.reseal = false;
    this.freshAt = null;
    this.fromSnapshot = false;
    this.cookie = this.hadCookie || stored ? "clear" : null;
  }

  interrupted(id: string, reason = "was destroyed, revoked or expired by another request"): never {
    this.ctx.emit("interrupted", id);
    throw new SessionInterruptedError(`The session ${reason}; nothing was saved`);
  }
}
