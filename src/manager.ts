import type * as z from "zod";
import { SessionUsageError } from "./errors.js";
import { absoluteExpiry } from "./expiry.js";
import { checkCount, type SessionOperator, type SessionWhere, toWhere } from "./operator.js";
import type { OpenedRecord, SessionContext } from "./persistence.js";
import { hydrate, type SessionData, type SessionInput, type SessionKey, type SessionSchema } from "./schema.js";
import { Session, sessionInternals } from "./session.js";
import { SessionContents } from "./session-contents.js";
import type { SessionInit } from "./session-state.js";
import { cookieValue, type SessionSource } from "./source.js";
import { legacyMarkerId, legacyStoreId, sessionTag } from "./token.js";

/**
 * The longest an imported session's legacy expiry is taken to be, from the import: 400 days, the
 * longest a browser keeps a cookie (RFC 6265bis; Chrome and Safari enforce it). A legacy store
 * that kept a session forever (no TTL), or an expiry past year 9999, is bounded here: the marker
 * that keeps a re-import from reviving it lives that long, and the legacy cookie cannot outlive it.
 */
const LEGACY_MAX_MS = 400 * 86_400_000;

/** What a session loaded (or not) through the legacy cookie starts with. */
type LegacyInit = NonNullable<SessionInit["legacy"]>;

export type { SessionWhere } from "./operator.js";

/** One session as `findMany` lists it: metadata and data, never its token. */
export interface SessionInfo<S extends SessionSchema> {
  /** A one-way tag, stable for the session's life (it changes on rotation). */
  tag: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  data: SessionData<S>;
}

/** One session for `importLegacy`: its legacy id, its data in this schema's shape, and when it expires. */
export interface LegacySessionImport<S extends SessionSchema> {
  sid: string;
  data: { [K in SessionKey<S>]?: SessionInput<S, K> | undefined };
  /** When it expires; null when the legacy store kept it forever: then `maxAge` from now. */
  expiresAt: Date | null;
}

/** What `defineSession` returns. */
export interface SessionManager<S extends SessionSchema> {
  /**
   * The session of a request. No cookie, or an unknown, expired, malformed or tampered one,
   * gives a fresh empty session; nothing is stored until it is modified.
   * @example const session = await sessions.load(request);
   */
  load(source: SessionSource): Promise<Session<S>>;
  /** The session a token names, or null when there is none (for tools and tests). */
  get(token: string): Promise<Session<S> | null>;
  /** Deletes the session a token names; true when there was one. */
  destroy(token: string): Promise<boolean>;
  /** Live sessions whose fields match, newest first: the "your devices" page. */
  findMany(query: { where: SessionWhere<S>; limit?: number }): Promise<SessionInfo<S>[]>;
  /** Deletes every session whose fields match, but `except` (the current one): "log out everywhere". */
  revoke(query: { where: SessionWhere<S>; except?: Session<S> }): Promise<number>;
  /**
   * Stores one session imported from the library the app comes from (`legacy`), under an id
   * derived from its legacy `sid`, so that only its signed legacy cookie reaches it, once. `data`
   * is validated as `update` validates it (`SessionValidationError`, `SessionTooLargeError`);
   * keys whose value is undefined are left out. Never overwrites: "exists" when a record (or the
   * shadow a used legacy cookie leaves) is there; "expired" when `expiresAt` (capped by
   * `absoluteMaxAge` from now) has passed; "empty" when no key holds a value. With `dryRun`,
   * validates and looks, writes nothing. `tesserae import` calls it (docs/migrating.md).
   */
  importLegacy(
    session: LegacySessionImport<S>,
    options?: { dryRun?: boolean },
  ): Promise<"created" | "exists" | "expired" | "empty">;
  /** Deletes expired sessions in batches (Django's `clearsessions`); returns how many went. */
  purgeExpired(options?: { batchSize?: number; onProgress?: (deleted: number) => void }): Promise<number>;
  /**
   * What operator tools (the `tesserae` CLI with `--config`, an admin page) do with the
   * sessions as a whole: inspect, revoke, stats, purge, on this manager's store and cache,
   * typed and checked by its schema.
   * @example await sessions.operator.revoke({ where: { userId: "u_123" } });
   */
  readonly operator: SessionOperator<S>;
  /** The cookie's name, for adapters. */
  readonly cookieName: string;
  /** Type-only: `typeof sessions.$infer` is the session data type. */
  readonly $infer: z.output<S>;
}

/** Builds the manager over a resolved context; `defineSession` is its only caller. */
export function createManager<S extends SessionSchema>(ctx: SessionContext, operator: SessionOperator<S>): SessionManager<S> {
  const { persistence } = ctx;
  const fresh = (hadCookie: boolean, snapshot?: { mark: null }, legacy?: LegacyInit) => {
    const init: SessionInit = { token: null, record: null, hydrated: null, hadCookie };
    if (snapshot) init.snapshot = snapshot;
    if (legacy) init.legacy = legacy;
    return new Session<S>(ctx, init);
  };

  /**
   * The session `opened` describes, hydrated; null when its data is corrupt or (with onInvalid
   * "reset") invalid, which a record from the store answers by dropping it.
   */
  async function build(opened: OpenedRecord, hadCookie: boolean, extra: Partial<SessionInit>): Promise<Session<S> | null> {
    const { record } = opened;
    // dataBytes is in the default measure: a store with its own (Postgres' jsonb text, B9) is
    // measured by it (measuredBytes when it read that for free; a cache's copy has none).
    const dataBytes = persistence.entryBytes === undefined ? record.dataBytes : record.measuredBytes;
    // Lazy entries: a key found invalid at its first use is reported then (docs/decisions.md).
    const reportInvalid = (keys: string[]) => ctx.emit("invalid", record.id, { keys });
    const result = hydrate(ctx.runtime, record.data, record.schemaVersion, ctx.nowMs(), dataBytes, { reportInvalid });
    if (!result.ok) {
      // A snapshot that does not hydrate is only ignored: the store's copy decides.
      if (extra.snapshot?.mark) return null;
      if (result.error) throw result.error;
      // Corrupt or (with onInvalid "reset") invalid data: the record goes and the request starts afresh (R43).
      ctx.emit(result.reason, record.id);
      await persistence.drop(record.id);
      return null;
    }
    if (result.invalid.length > 0) reportInvalid(result.invalid);
    const { token, resign, viaGrace } = opened;
    return new Session<S>(ctx, { token, record, hydrated: result, hadCookie, resign, viaGrace, ...extra });
  }

  /** The session a cookie value (or a token) leads to through the store, hydrated; null when none does. */
  async function open(value: string, hadCookie: boolean, snapshot?: { mark: null }): Promise<Session<S> | null> {
    // The read starts now: what it finds is at least this fresh (the cookie cache's window counts from it).
    const freshAt = ctx.nowMs();
    const opened = await persistence.open(value);
    if (opened === null) return null;
    return build(opened, hadCookie, { freshAt, ...(snapshot ? { snapshot } : {}) });
  }

  /**
   * A request without a session cookie but with the legacy cookie (`legacy`): the imported session
   * its signed id names, pending rotation; else what a fresh session needs to clear that cookie.
   */
  async function fromLegacy(source: SessionSource): Promise<Session<S> | LegacyInit | undefined> {
    const legacy = ctx.legacy;
    const raw = legacy === undefined ? undefined : cookieValue(source, legacy.cookie.name);
    if (legacy === undefined || raw === undefined || persistence.openLegacy === undefined) return undefined;
    const init: LegacyInit = { clearing: legacy.clearing, pending: false };
    let sid: string | null;
    try {
      sid = legacy.cookie.verify(raw);
    } catch {
      sid = null; // a custom verifier that throws: a bad cookie is a fresh session, never a 500
    }
    if (typeof sid !== "string" || sid === "") {
      ctx.emit("tampered", null);
      return init;
    }
    const freshAt = ctx.nowMs();
    const opened = await persistence.openLegacy(legacyStoreId(sid), legacy.followMs);
    if (opened === null) return init;
    // viaGrace: the session the cookie was traded for moments ago (another request's claim).
    const pending = !opened.viaGrace;
    return (await build(opened, false, { freshAt, legacy: { clearing: legacy.clearing, pending } })) ?? init;
  }

  /** With `cookieCache`, the session from a fresh snapshot beside the token: no store round trip. */
  async function fromSnapshot(source: SessionSource, token: string): Promise<Session<S> | { mark: null } | undefined> {
    const cache = ctx.cookieCache;
    const sealed = cache === undefined ? undefined : cookieValue(source, cache.name);
    if (cache === undefined || sealed === undefined) return undefined;
    const snapshot = await cache.open(sealed, token, ctx.nowMs());
    if (snapshot === null) return { mark: null };
    const opened: OpenedRecord = { record: snapshot.record, token, resign: false, viaGrace: false };
    const session = await build(opened, true, { freshAt: snapshot.freshAt, snapshot: { mark: snapshot.mark } });
    return session ?? { mark: null };
  }

  return {
    operator,
    cookieName: ctx.cookie.name,
    $infer: undefined as unknown as z.output<S>,

    async load(source) {
      // The one place a bad cookie becomes a fresh session rather than an error (R6, R7, R38).
      const value = cookieValue(source, ctx.cookie.name);
      if (value === undefined) {
        // A snapshot without its session cookie is junk: the commit clears it.
        const orphan = ctx.cookieCache !== undefined && cookieValue(source, ctx.cookieCache.name) !== undefined;
        // Without `legacy`, no extra await on the path of every cookie-less request.
        const legacy = ctx.legacy === undefined ? undefined : await fromLegacy(source);
        if (legacy instanceof Session) return legacy;
        return fresh(false, orphan ? { mark: null } : undefined, legacy);
      }
      const cached = await fromSnapshot(source, value);
      if (cached instanceof Session) return cached;
      return (await open(value, true, cached)) ?? fresh(true, cached);
    },

    get: (token) => open(token, false),

    destroy: (token) => persistence.destroyToken(token),

    async findMany({ where, limit }) {
      const now = ctx.nowMs();
      const records = await persistence.find(toWhere(ctx.runtime, where), new Date(now), limit);
      const list: SessionInfo<S>[] = [];
      for (const record of records) {
        const result = hydrate({ ...ctx.runtime, onInvalid: "drop" }, record.data, record.schemaVersion, now);
        if (!result.ok) continue;
        const session = new Session<S>(ctx, { token: null, record, hydrated: result, hadCookie: false });
        list.push({
          tag: sessionTag(record.id),
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          expiresAt: record.expiresAt,
          data: session.all(),
        });
      }
      return list;
    },

    async revoke({ where, except }) {
      const exceptId = except === undefined ? undefined : (sessionInternals.storeId(except as never) ?? undefined);
      const count = await persistence.deleteWhere(toWhere(ctx.runtime, where), exceptId);
      ctx.emit("revoked", null, { count });
      return count;
    },

    async importLegacy({ sid, data, expiresAt }, { dryRun = false } = {}) {
      const adopt = persistence.adopt?.bind(persistence);
      if (ctx.legacy === undefined || adopt === undefined) {
        throw new SessionUsageError("importLegacy needs defineSession({ legacy }) and a server-side store");
      }
      if (typeof sid !== "string" || sid === "") throw new SessionUsageError("importLegacy: sid must be a non-empty string");
      if (expiresAt !== null && (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime()))) {
        throw new SessionUsageError("importLegacy: expiresAt must be a valid Date or null");
      }
      if (typeof data !== "object" || data === null || Array.isArray(data)) {
        throw new SessionUsageError("importLegacy: data must be an object of session keys");
      }
      const now = ctx.nowMs();
      const absolute = absoluteExpiry(ctx.policy, now);
      // How long the legacy store (and a browser) may still present this session: its own
      // expiry, never past LEGACY_MAX_MS (none, or one past year 9999, is bounded there).
      const legacyUntil = Math.min(expiresAt?.getTime() ?? Number.POSITIVE_INFINITY, now + LEGACY_MAX_MS);
      const until = expiresAt === null ? now + ctx.policy.maxAgeSeconds * 1000 : legacyUntil;
      const expires = absolute === null ? until : Math.min(absolute, until);
      if (expires <= now) return "expired";
      // The one way data gets into a record: validated, encoded and measured as `update` does it.
      const contents = new SessionContents(ctx.runtime, ctx.nowMs, ctx.maxBytes, null, persistence.entryBytes);
      const defined = Object.entries(data).filter(([, value]) => value !== undefined);
      contents.writeAll(Object.fromEntries(defined));
      if (!contents.hasData) return "empty";
      const id = legacyStoreId(sid);
      // Outlives the record (claimed, revoked, purged) for as long as the legacy store could
      // hand the session to a re-run of the import: uncapped by maxAge and absoluteMaxAge.
      const marker = {
        id: legacyMarkerId(sid),
        data: {},
        expiresAt: new Date(Math.max(legacyUntil, expires)),
        absoluteExpiresAt: null,
        createdAt: new Date(now),
        updatedAt: new Date(now),
        schemaVersion: ctx.runtime.version,
        rev: 1,
        successorId: id,
      };
      return adopt(
        {
          id,
          data: contents.toStoredData(),
          expiresAt: new Date(expires),
          absoluteExpiresAt: absolute === null ? null : new Date(absolute),
          createdAt: new Date(now),
          updatedAt: new Date(now),
          schemaVersion: ctx.runtime.version,
          rev: 1,
          successorId: null,
        },
        marker,
        dryRun,
      );
    },

    async purgeExpired({ batchSize = 1000, onProgress } = {}) {
      checkCount("batchSize", batchSize);
      let total = 0;
      for (;;) {
        const deleted = await persistence.purgeExpired(new Date(ctx.nowMs()), batchSize);
        total += deleted;
        if (deleted > 0) onProgress?.(total);
        if (deleted < batchSize) return total;
      }
    },
  };
}
