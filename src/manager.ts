import type * as z from "zod";
import { checkCount, type SessionOperator, type SessionWhere, toWhere } from "./operator.js";
import type { OpenedRecord, SessionContext } from "./persistence.js";
import { hydrate, type SessionData, type SessionSchema } from "./schema.js";
import { Session, sessionInternals } from "./session.js";
import type { SessionInit } from "./session-state.js";
import { cookieValue, type SessionSource } from "./source.js";
import { sessionTag } from "./token.js";

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
  const fresh = (hadCookie: boolean, snapshot?: { mark: null }) =>
    new Session<S>(ctx, { token: null, record: null, hydrated: null, hadCookie, ...(snapshot ? { snapshot } : {}) });

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
        return fresh(false, orphan ? { mark: null } : undefined);
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
