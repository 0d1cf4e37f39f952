import { withCache } from "./cached-store.js";
import { canonicalJson } from "./codec.js";
import { isTesseraError } from "./errors.js";
import { guardStore } from "./guarded-store.js";
import { createOperator } from "./operator.js";
import type { OpenedRecord, PersistedSession, Persistence, SessionContext } from "./persistence.js";
import type { SessionCache, SessionPatch, SessionStore, StoredData, StoredEntry, StoredSession } from "./store.js";
import { createToken, hashToken, isWellFormedToken } from "./token.js";

/** What `serverRecord` needs beside the store; `defineSession` resolves it from the options. */
export interface ServerRecordOptions {
  cache: SessionCache | undefined;
  cacheTimeoutMs: number;
  /** The bound on every store call of a request (`storeTimeout`), in ms. */
  storeTimeoutMs: number;
  rotationGraceSeconds: number;
  emit: SessionContext["emit"];
  nowMs(): number;
}

/** `data` with a patch's changes applied: what the store's record holds after that patch. */
function applyChanges(data: StoredData, changes: { set: StoredData; deleted: string[] }): StoredData {
  const merged: StoredData = {};
  for (const key of Object.keys(data)) if (!changes.deleted.includes(key)) defineEntry(merged, key, data[key] as StoredEntry);
  for (const key of Object.keys(changes.set)) defineEntry(merged, key, changes.set[key] as StoredEntry);
  return merged;
}

/** Whether `a` and `b` hold the same entry at `key` (both absent included); own keys only, so `"__proto__"` is a key. */
function sameEntry(a: StoredData, b: StoredData, key: string): boolean {
  const text = (data: StoredData) => (Object.hasOwn(data, key) ? canonicalJson(data[key]) : "");
  return text(a) === text(b);
}

/** defineProperty, so a `"__proto__"` key stays an own key (R41). */
function defineEntry(data: StoredData, key: string, entry: StoredEntry): void {
  Object.defineProperty(data, key, { value: entry, enumerable: true, writable: true, configurable: true });
}

/** Rotations within one `rotationGrace` window an old token is followed through. */
const MAX_GRACE_HOPS = 4;

/**
 * Sessions as records in a server-side store (Django's `db`, `cache`, `cached_db`, `file`): the
 * cookie carries a random token, the store keys the record by its hash, and a save sends a
 * patch of only the keys this request changed, so concurrent requests keep each other's writes.
 */
export function serverRecord(raw: SessionStore, options: ServerRecordOptions): Persistence {
  const { emit, nowMs } = options;
  const composed =
    options.cache === undefined
      ? raw
      : withCache(raw, options.cache, {
          timeoutMs: options.cacheTimeoutMs,
          onStateChange: (state) => emit(state === "down" ? "cache-down" : "cache-up", null),
        });
  // Requests are bounded by `storeTimeout` and see driver failures as `SessionStoreError`.
  const store = guardStore(composed, options.storeTimeoutMs);

  /**
   * `store.get`, with a record the store could not read (B12) reported as `corrupt` and
   * deleted, as hydrate's corrupt data is: a data problem, never an outage, never `unknown`.
   */
  async function read(id: string, now: Date): Promise<StoredSession | null | "corrupt"> {
    try {
      return await store.get(id, now);
    } catch (error) {
      // By code, not instanceof: a custom store may import another copy of the package.
      if (!isTesseraError(error) || error.code !== "SESSION_CORRUPT") throw error;
      emit("corrupt", id);
      await store.delete(id);
      return "corrupt";
    }
  }

  /**
   * Before the first write of a session loaded from a cookie-cache snapshot: the snapshot is what
   * the browser chose to send, up to `maxAge` old, so a write decided on it could undo a newer one
   * (a read-modify-write over another device's change, or the holder replaying an older snapshot
   * to reset a try counter or re-use a one-time value). The store is read once: if any key this
   * request looked at holds another value there than in the snapshot, nothing is written and the
   * save fails as interrupted. Keys it did not look at may differ: per-key writes merge as usual.
   */
  async function checkSnapshot(state: PersistedSession, snapshot: StoredSession, now: number): Promise<void> {
    const current = await read(snapshot.id, new Date(now));
    if (current === null || current === "corrupt" || current.successorId !== null) state.interrupted(snapshot.id);
    if (current.rev !== snapshot.rev) {
      state.heldRev = null;
      const looked = state.data.looked ?? new Set([...Object.keys(snapshot.data), ...Object.keys(current.data)]);
      for (const key of looked) {
        if (!sameEntry(snapshot.data, current.data, key)) {
          state.interrupted(snapshot.id, `changed since the cookie-cache snapshot this request read ("${key}")`);
        }
      }
    }
    state.snapshotChecked = true;
  }

  /**
   * A data write with its deadline (`storeTimeout` from now): a store refuses it if it lands
   * later, past a newer write, so a write this request gave up on cannot undo one made since. A
   * refusal that reaches us while we still wait was no late arrival but clocks that disagree by
   * more than `storeTimeout` (another server's, or ours stepped back): written again without the
   * deadline, last writer wins as before, rather than a false 503.
   */
  async function onTime<T>(now: number, write: (notAfter: Date | undefined) => Promise<T>): Promise<T> {
    try {
      return await write(new Date(now + options.storeTimeoutMs));
    } catch (error) {
      // By name, not instanceof: a custom store may import another copy of the package.
      if (!isTesseraError(error) || error.name !== "SessionLateWriteError") throw error;
      return write(undefined);
    }
  }

  async function create(state: PersistedSession, now: number): Promise<void> {
    if (!state.data.hasData) return; // R9: an empty new session is never stored nor sent.
    if (state.expiredOnPurpose(now)) return;
    state.token ??= createToken();
    state.id ??= hashToken(state.token);
    const fresh = state.fullRecord(state.id, now);
    const sent = state.pending();
    await store.create(fresh);
    state.saved(fresh, sent);
    state.heldRev = fresh.rev;
    state.freshAt = now;
    state.cookie = "set";
    emit("created", fresh.id);
  }

  return {
    defaultMaxBytes: 65536,
    entryBytes: store.entryBytes?.bind(store),
    checkFits: undefined,

    async open(token): Promise<OpenedRecord | null> {
      if (!isWellFormedToken(token)) {
        emit("tampered", null);
        return null;
      }
      const id = hashToken(token);
      const now = new Date(nowMs());
      let record = await read(id, now);
      if (record === "corrupt") return null;
      let reached: string | null = token;
      // The old token of a session rotated within `rotationGrace`: serve the new record without
      // knowing its token. A session rotated again within the window is a chain; a record that is
      // still a shadow after a few hops (a loop, or junk) reaches nothing.
      for (let hops = 0; record?.successorId; hops++) {
        if (hops === MAX_GRACE_HOPS) record = null;
        else {
          record = await read(record.successorId, now);
          if (record === "corrupt") return null;
          reached = null;
        }
      }
      if (record === null) {
        emit("unknown", id);
        return null;
      }
      return { record, token: reached, resign: false, viaGrace: reached === null };
    },

    async openLegacy(id, followMs): Promise<OpenedRecord | null> {
      const now = new Date(nowMs());
      let record = await read(id, now);
      if (record === null || record === "corrupt") return null;
      if (record.successorId === null) return { record, token: null, resign: false, viaGrace: false };
      // A shadow: the legacy cookie was used once already. Followed only within a short window
      // after that claim (the successor's createdAt is the claim's instant), then never.
      for (let hops = 0; record?.successorId; hops++) {
        record = hops === MAX_GRACE_HOPS ? null : await read(record.successorId, now);
        if (record === "corrupt") return null;
      }
      if (record === null || record.createdAt.getTime() + followMs <= now.getTime()) {
        emit("unknown", id);
        return null;
      }
      return { record, token: null, resign: false, viaGrace: true };
    },

    async adopt(record, marker, dryRun) {
      const now = new Date(nowMs());
      const found = async (id: string) => {
        const existing = await read(id, now);
        return existing !== null && existing !== "corrupt";
      };
      // Stores answer a taken id with an error like any other (SessionStoreError): one a
      // concurrent import created in between is told apart by reading it back.
      const created = async (next: StoredSession) => {
        try {
          await store.create(next);
          return true;
        } catch (error) {
          if (await found(next.id)) return false;
          throw error;
        }
      };
      if (await found(marker.id)) return "exists";
      if (await found(record.id)) {
        // Imported before markers existed, or a run stopped between the two creates.
        if (!dryRun) await created(marker);
        return "exists";
      }
      if (dryRun) return "created";
      // The record first: a run stopped before the marker is completed by the next one.
      const fresh = await created(record);
      await created(marker);
      return fresh ? "created" : "exists";
    },

    drop: (id) => store.delete(id),

    async save(state: PersistedSession, now: number) {
      const record = state.record;
      if (record === null) return create(state, now);
      const nextMs = state.nextExpiry(now);
      const expiryMoved = state.touchDue(now);
      const policyChanged = state.policyChanged;
      if (policyChanged && nextMs <= now) {
        // B14: `setExpiry(pastDate)` ends a stored session: it is deleted, never rewritten as a dead row.
        await store.delete(record.id);
        emit("destroyed", record.id);
        state.ended();
        return;
      }
      if (state.fromSnapshot && !state.snapshotChecked && (state.data.replacesAll || state.data.isModified)) {
        await checkSnapshot(state, record, now);
      }
      if (state.data.replacesAll) {
        const full = state.fullRecord(record.id, now);
        const sent = state.pending();
        const rev = await onTime(now, (notAfter) => store.replace(full, new Date(now), notAfter));
        if (rev === null) state.interrupted(record.id);
        state.saved({ ...full, rev }, sent);
        state.heldRev = rev;
        // The store holds exactly this data now (a concurrent patch after it is as new as any read).
        state.freshAt = now;
        state.fromSnapshot = false;
        state.wroteData = true;
      } else if (state.data.isModified) {
        const { set, deleted } = state.data.changes();
        const expiresAt = new Date(nextMs);
        const updatedAt = new Date(now);
        const schemaVersion = state.ctx.runtime.version;
        const maxBytes = state.ctx.maxBytes;
        // The size after the patch is known here when the store's record is the one this request
        // holds: a store may then check maxBytes without measuring the stored data.
        const bytes = state.data.knownBytes();
        const heldRev = state.heldRev === record.rev ? record.rev : null;
        const expected = bytes !== null && heldRev !== null ? { rev: heldRev, bytes } : undefined;
        // One object literal, not `{ ...patch, notAfter }`: a spread followed by a property the
        // source lacks takes V8's slow path (~2.4 µs each, twice per save).
        const patchFor = (notAfter: Date | undefined): SessionPatch => ({
          set,
          deleted,
          expiresAt,
          updatedAt,
          schemaVersion,
          maxBytes,
          notAfter,
          expected,
        });
        const sent = state.pending();
        const rev = await onTime(now, (notAfter) => store.patch(record.id, patchFor(notAfter), new Date(now)));
        if (rev === null) state.interrupted(record.id);
        // Another write landed in between (every store adds one per write): the store now holds
        // keys this request does not, so their size is no longer known here.
        state.heldRev = heldRev !== null && rev === heldRev + 1 ? rev : null;
        state.saved({ ...record, expiresAt, updatedAt, rev }, sent);
        // freshAt stays: the patch says nothing about the keys it did not write (cookie cache).
        // Another write landed since the data was read (every store adds one per write): what
        // this request holds lacks it, so no snapshot is made of it (a parallel request of the
        // same browser would otherwise hide this write or that one from its next reads).
        if (rev !== record.rev + 1) state.freshAt = null;
        state.dataWritten = true;
        state.wroteData = true;
      } else if (expiryMoved) {
        if (!(await store.touch(record.id, new Date(nextMs), new Date(now)))) {
          // A read-only request of a session gone meanwhile: nothing to save, so no error. No clearing
          // cookie either: the session may be gone because a login in a parallel request rotated it,
          // and a clear arriving after that response would delete the new cookie (same name). The
          // dead one loads a fresh session next time. The record stays as loaded, so a later
          // write in this request is a patch the store refuses (SessionInterruptedError), never
          // an insert that would bring a revoked session back under its old token.
          emit("interrupted", record.id);
          // Known gone: no cookie-cache snapshot may serve it any longer.
          state.freshAt = null;
          return;
        }
        state.record = { ...record, expiresAt: new Date(nextMs) };
      } else return;
      if ((expiryMoved || policyChanged) && state.token !== null) state.cookie = "set";
    },

    async rotate(state: PersistedSession, now: number) {
      const token = createToken();
      const id = hashToken(token);
      const old = state.record;
      if (old !== null) {
        let record = state.fullRecord(id, now);
        // A legacy claim starts a new Tessera session: its createdAt is the claim's instant,
        // which bounds how long the legacy cookie still follows it (openLegacy).
        if (state.legacyPending) record = { ...record, createdAt: new Date(now) };
        const sent = state.pending();
        // A whole-record write from a cookie-cache snapshot would put back keys changed
        // elsewhere since it was taken: read the store and apply this request's changes to that.
        const current = state.fromSnapshot ? await read(old.id, new Date(now)) : old;
        if (current === null || current === "corrupt" || current.successorId !== null) state.interrupted(old.id);
        const exact = current.rev === old.rev || state.data.replacesAll;
        if (!exact) record = { ...record, data: applyChanges(current.data, state.data.changes()) };
        const grace = options.rotationGraceSeconds;
        // A legacy record stays as an empty shadow for as long as it would have lived: its cookie
        // then reaches nothing (openLegacy does not follow it), and the importer sees it as there.
        const graceUntil = state.legacyPending ? old.expiresAt : grace > 0 ? new Date(now + grace * 1000) : null;
        if (!(await store.rotate(old.id, record, graceUntil, new Date(now)))) state.interrupted(old.id);
        state.saved(record, sent);
        state.heldRev = exact ? record.rev : null;
        if (exact) {
          state.freshAt = now;
          state.fromSnapshot = false;
        }
        emit("rotated", id);
        state.cookie = "set";
      }
      state.token = token;
      state.id = id;
    },

    async destroy(state) {
      const id = state.record?.id ?? null;
      if (id !== null) {
        await store.delete(id);
        emit("destroyed", id);
      }
      state.ended();
    },

    async destroyToken(token) {
      if (!isWellFormedToken(token)) return false;
      const id = hashToken(token);
      const existed = (await read(id, new Date(nowMs()))) !== null;
      await store.delete(id);
      if (existed) emit("destroyed", id);
      return existed;
    },

    find: (where, now, limit) => store.find(where, now, limit === undefined ? {} : { limit }),
    deleteWhere: async (where, exceptId) => (await store.deleteWhere(where, exceptId === undefined ? {} : { exceptId })).length,
    purgeExpired: (now, batchSize) => store.purgeExpired(now, batchSize),
    // Operator tools (the CLI with --config, an admin page) work on the store with its cache but
    // without the request-path timeout: a purge or a revoke may take longer than a request.
    operator: (context) => createOperator({ ...context, store: composed }),
  };
}
