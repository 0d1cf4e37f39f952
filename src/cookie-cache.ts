/**
 * The cookie-cache tier (`defineSession({ cookieCache })`, better-auth's `cookieCache`): a
 * short-lived sealed snapshot of a server-side session rides in a second cookie, so a request
 * within its window loads the session without a store round trip.
 *
 * The rule that bounds staleness (docs/decisions.md): a snapshot carries `freshAt`, the instant
 * its data was last known equal to the store's (the start of the store read it came from, or a
 * whole-record write), and is served only while `now < freshAt + maxAge`. A patch refreshes the
 * snapshot's data but keeps its `freshAt`: the patch proves nothing about the keys it did not
 * write, which another process may have changed or deleted since. So a `revoke`/`destroy`
 * elsewhere is seen by every request that starts `maxAge` or more after the revocation's write.
 *
 * Sealing reuses the cookie store's format and key ring (`seal.ts`, `keys.ts`), always
 * encrypted (the data of a server-side session is not the client's to read) and never
 * compressed (no length side channel). Keys are separated from the cookie store's by the
 * purpose prefixed to each secret, and a snapshot is bound to its session by the MAC: the
 * sealed name is the cache cookie's name and the session id (`sha256(token)`), so it opens only
 * beside the token it was made for.
 */
import { clearingCookie, MAX_COOKIE_BYTES, type ResolvedCookie, type SessionCookie, sessionCookie } from "./cookie.js";
import { type Duration, toSeconds } from "./duration.js";
import { SessionConfigError } from "./errors.js";
import type { StoredData, StoredSession } from "./store.js";
import { deriveKeyRing, type KeyRing, normalizeSecrets } from "./stores/cookie/keys.js";
import { openSealed, type SealMode, sealParts } from "./stores/cookie/seal.js";
import { hashToken, isWellFormedToken } from "./token.js";
import { utf8Length } from "./utf8.js";

/** Options of `defineSession({ cookieCache })`. */
export interface CookieCacheOptions {
  /**
   * The longest a snapshot is served, counted from when its data was last read from (or
   * written whole to) the store: a session revoked or destroyed elsewhere is seen as gone by
   * every request that starts this long after. Keep it short ("30s", "5m").
   */
  maxAge: Duration;
  /**
   * `[current, ...previous]`, or one secret, as `cookieStore`'s: at least 32 characters each,
   * only the first seals, every one opens. Whoever holds one can forge any session's data: keep
   * it as secret as a cookie store's, and distinct from it.
   */
  secrets: string | readonly string[];
}

/** A verified snapshot: the record it carries and the instant its data was fresh. */
export interface Snapshot {
  record: StoredSession;
  freshAt: number;
  /** What the browser holds, in `snapshotMark`'s terms: a commit that would send the same sends nothing. */
  mark: string;
}

/** What the tier reads and marks on a session between its load and its commit (`SessionState`). */
export interface SnapshotState {
  readonly record: StoredSession | null;
  readonly token: string | null;
  readonly viaGrace: boolean;
  /** Since when every key of `data` is known equal to the store's; null when unknown (no snapshot then). */
  readonly freshAt: number | null;
  /** A patch was saved since `record.data` was set: `record.data` no longer holds the data. */
  readonly dataWritten: boolean;
  /** This request saved data to the store (a patch or a whole-record write). */
  readonly wroteData: boolean;
  /** The session was loaded from the snapshot the browser holds. */
  readonly loadedFromSnapshot: boolean;
  readonly data: { readonly isModified: boolean; toStoredData(): StoredData };
  /** The browser may hold a snapshot cookie (the request carried one, or a commit sent one). */
  snapshotHeld: boolean;
  /** `snapshotMark` of the snapshot the browser holds, when known. */
  snapshotMark: string | null;
}

/** The resolved tier; `defineSession` builds it, the manager and the session state use it. */
export interface CookieCache {
  /** The snapshot cookie's name: the session cookie's, with `.cache` appended. */
  readonly name: string;
  /** The snapshot in `value` for the session whose cookie holds `token`, or null: tampered, foreign, expired, too old. Never throws for bad input. */
  open(value: string, token: string, nowMs: number): Promise<Snapshot | null>;
  /** Whether `cookies(state, nowMs)` would send a cookie (for `isSettled`). */
  due(state: SnapshotState, nowMs: number): boolean;
  /** The snapshot cookie a commit sends: a new snapshot, a clearing one, or none. */
  cookies(state: SnapshotState, nowMs: number): Promise<SessionCookie[]>;
}

/** Separates these keys from the cookie store's, even under the same secret (R33). */
const PURPOSE = "tessera.cookie-cache.v1\u0000";
const MODE: SealMode = { compress: false, encrypt: true, deflate: null };

/**
 * The tier, or a `SessionConfigError` for bad options. `version` is the schema's: a snapshot
 * written under another version is ignored, so a deploy that migrates data reads the store.
 */
export function resolveCookieCache(options: unknown, cookie: ResolvedCookie, version: number): CookieCache {
  if (typeof options !== "object" || options === null) {
    throw new SessionConfigError('cookieCache: expected { maxAge: "30s", secrets }');
  }
  const { maxAge, secrets } = options as Partial<CookieCacheOptions>;
  if (maxAge === undefined) throw new SessionConfigError("cookieCache: `maxAge` is required");
  const maxAgeMs = toSeconds(maxAge, "cookieCache.maxAge") * 1000;
  if (maxAgeMs < 1000) throw new SessionConfigError("cookieCache.maxAge: at least 1 second");
  let list: readonly string[];
  try {
    list = normalizeSecrets(secrets);
  } catch (error) {
    // Same checks as the cookie store's, named after this option.
    throw new SessionConfigError(`cookieCache: ${(error as Error).message.replace(/^cookieStore: /, "")}`);
  }
  const target: ResolvedCookie = { ...cookie, name: `${cookie.name}.cache` };
  let ring: Promise<KeyRing> | undefined;
  const keys = (): Promise<KeyRing> => {
    ring ??= deriveKeyRing(list.map((secret) => PURPOSE + secret)).catch((error: unknown) => {
      ring = undefined;
      throw error;
    });
    return ring;
  };
  const sealName = (id: string) => `tessera.cookie-cache/${target.name}/${id}`;
  /**
   * How much a snapshot cookie of this commit matters: "required" when the request wrote data to
   * a session loaded from the browser's snapshot (left in place, it would be read-modify-written
   * over this write), else "optional" (`SessionCookie.snapshot`).
   */
  const need = (state: SnapshotState) => (state.loadedFromSnapshot && state.wroteData ? "required" : "optional");
  const clear = (state: SnapshotState, always = false): SessionCookie[] => {
    if (!state.snapshotHeld && !always) return [];
    state.snapshotHeld = false;
    state.snapshotMark = null;
    return [{ ...clearingCookie(target), snapshot: need(state) }];
  };

  /** What a commit would send: a snapshot valid until `until`, a clearing cookie, or nothing. */
  function plan(state: SnapshotState, nowMs: number): { until: number; mark: string } | "clear" | "clear-any" | "none" {
    const { record, freshAt } = state;
    // A grace shadow's request does not know its session's token: nothing to bind a snapshot to.
    // Its write landed on the rotated session, whose snapshot the browser may already hold from
    // the rotating response (it carried none here): clear whatever it holds.
    if (state.viaGrace) return state.wroteData ? "clear-any" : "none";
    if (record === null || state.token === null || freshAt === null || state.data.isModified) {
      return state.snapshotHeld ? "clear" : "none";
    }
    const mark = snapshotMark(record, freshAt);
    if (mark === state.snapshotMark) return "none";
    const until = snapshotUntil(record, freshAt + maxAgeMs);
    // Under a second left: not worth a cookie, and Max-Age is whole seconds.
    if (until - nowMs < 1000) return state.snapshotHeld ? "clear" : "none";
    return { until, mark };
  }

  return {
    name: target.name,

    async open(value, token, nowMs) {
      if (!isWellFormedToken(token)) return null;
      const id = hashToken(token);
      const opened = await openSealed(value, sealName(id), await keys(), true, null);
      if (opened === null) return null;
      const snapshot = decodeSnapshot(opened.meta, opened.data, id);
      if (snapshot === null || snapshot.record.schemaVersion !== version) return null;
      const { record, freshAt } = snapshot;
      // A snapshot stamped in the future (another server's clock ahead) would stretch the window.
      if (freshAt > nowMs || snapshotUntil(record, freshAt + maxAgeMs) <= nowMs) return null;
      return { record, freshAt, mark: snapshotMark(record, freshAt) };
    },

    due: (state, nowMs) => plan(state, nowMs) !== "none",

    async cookies(state, nowMs) {
      const next = plan(state, nowMs);
      if (next === "none") return [];
      if (next === "clear") return clear(state);
      if (next === "clear-any") return clear(state, true);
      const record = state.record as StoredSession;
      const meta = encoder.encode(JSON.stringify(encodeMeta(record, state.freshAt as number)));
      // Unchanged since load: the record's data as read, with no decoding of entries the request never used.
      const data: StoredData = state.dataWritten ? state.data.toStoredData() : record.data;
      const value = await sealParts(
        (await keys()).current,
        sealName(record.id),
        meta,
        encoder.encode(JSON.stringify(data)),
        MODE,
      );
      const cookie = sessionCookie(target, value, Math.floor((next.until - nowMs) / 1000), new Date(nowMs));
      // Past the browser's limit the snapshot is not sent, and an older one must not outlive this write.
      if (utf8Length(cookie.header) > MAX_COOKIE_BYTES) return clear(state);
      state.snapshotHeld = true;
      state.snapshotMark = next.mark;
      return [{ ...cookie, snapshot: need(state) }];
    },
  };
}

/** The instant a snapshot stops being served: its window, capped by the session's own expiries. */
function snapshotUntil(record: StoredSession, windowEnd: number): number {
  const absolute = record.absoluteExpiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  return Math.min(windowEnd, record.expiresAt.getTime(), absolute);
}

/** Identifies a snapshot's content: a commit whose snapshot would be the one the browser holds sends none. */
function snapshotMark(record: StoredSession, freshAt: number): string {
  return `${record.id}:${record.rev}:${record.expiresAt.getTime()}:${freshAt}`;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** freshAt, expiresAt, absoluteExpiresAt, createdAt, updatedAt (epoch ms), schemaVersion, rev. */
type WireMeta = [number, number, number | null, number, number, number, number];

function encodeMeta(record: StoredSession, freshAt: number): WireMeta {
  return [
    freshAt,
    record.expiresAt.getTime(),
    record.absoluteExpiresAt?.getTime() ?? null,
    record.createdAt.getTime(),
    record.updatedAt.getTime(),
    record.schemaVersion,
    record.rev,
  ];
}

/**
 * The snapshot in a verified plaintext, or null. The data is handed on as parsed: `hydrate`
 * checks every entry's shape and the schema validates every value before the app sees it, as
 * for data from a store (JSON.parse keeps a `"__proto__"` key an own property, R41).
 */
function decodeSnapshot(
  metaBytes: Uint8Array,
  dataBytes: Uint8Array,
  id: string,
): { record: StoredSession; freshAt: number } | null {
  let meta: unknown;
  let data: unknown;
  try {
    meta = JSON.parse(decoder.decode(metaBytes));
    data = JSON.parse(decoder.decode(dataBytes));
  } catch {
    return null;
  }
  if (!Array.isArray(meta) || meta.length !== 7) return null;
  const [f, e, a, c, u, v, r] = meta as unknown[];
  if (!isEpochMs(f) || !isEpochMs(e) || !isEpochMs(c) || !isEpochMs(u) || !(a === null || isEpochMs(a))) return null;
  if (!Number.isSafeInteger(v) || !Number.isSafeInteger(r)) return null;
  if (typeof data !== "object" || data === null || Array.isArray(data)) return null;
  const record: StoredSession = {
    id,
    data: data as StoredData,
    expiresAt: new Date(e),
    absoluteExpiresAt: a === null ? null : new Date(a),
    createdAt: new Date(c),
    updatedAt: new Date(u),
    schemaVersion: v as number,
    rev: r as number,
    successorId: null,
  };
  return { record, freshAt: f };
}

function isEpochMs(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value) && Math.abs(value) <= 8.64e15;
}
