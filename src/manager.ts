import type * as z from "zod";
import { MAX_COOKIE_BYTES } from "./cookie.js";
import { isTesseraError, SessionConfigError } from "./errors.js";
import { type SessionOperator, type SessionWhere, toWhere } from "./operator.js";
import { hydrate, type SessionData, type SessionSchema } from "./schema.js";
import { Session, type SessionContext, sessionInternals } from "./session.js";
import { cookieValue, type SessionSource } from "./source.js";
import type { CookieSessionStore, StoredSession } from "./store.js";
import { hashToken, isWellFormedToken, sessionTag } from "./token.js";

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
   * What operator tools (the `tessera` CLI with `--config`, an admin page) do with the
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

/** Rotations within one `rotationGrace` window an old token is followed through. */
const MAX_GRACE_HOPS = 4;

/** Builds the manager over a resolved context; `defineSession` is its only caller. */
export function createManager<S extends SessionSchema>(ctx: SessionContext, operator: SessionOperator<S>): SessionManager<S> {
  const { store } = ctx;
  const fresh = (hadCookie: boolean) => new Session<S>(ctx, { token: null, record: null, hydrated: null, hadCookie });

  async function open(token: string, hadCookie: boolean): Promise<Session<S> | null> {
    const id = hashToken(token);
    const now = new Date(ctx.nowMs());
    let record = await readRecord(id, now);
    if (record === "corrupt") return null;
    let reachedToken: string | null = token;
    // The old token of a session rotated within `rotationGrace`: serve the new record without
    // knowing its token. A session rotated again within the window is a chain; a record that is
    // still a shadow after a few hops (a loop, or junk) reaches nothing.
    for (let hops = 0; record?.successorId; hops++) {
      if (hops === MAX_GRACE_HOPS) record = null;
      else {
        record = await readRecord(record.successorId, now);
        if (record === "corrupt") return null;
        reachedToken = null;
      }
    }
    if (record === null) {
      ctx.emit("unknown", id);
      return null;
    }
    return fromRecord(record, reachedToken, hadCookie, false, reachedToken === null);
  }

  /**
   * `store.get`, with a record the store could not read (B12) reported as `corrupt` and
   * deleted, as hydrate's corrupt data is: a data problem, never an outage, never `unknown`.
   */
  async function readRecord(id: string, now: Date): Promise<StoredSession | null | "corrupt"> {
    try {
      return await store.get(id, now);
    } catch (error) {
      // By code, not instanceof: a custom store may import another copy of the package.
      if (!isTesseraError(error) || error.code !== "SESSION_CORRUPT") throw error;
      ctx.emit("corrupt", id);
      await store.delete(id);
      return "corrupt";
    }
  }

  /** Cookie stores: the cookie is the sealed record. A seal that does not verify is a fresh session (R38). */
  async function openSealed(sealer: CookieSessionStore, value: string, hadCookie: boolean): Promise<Session<S> | null> {
    // Browsers drop cookies over 4 KiB; anything longer was never ours and is not worth verifying.
    const opened = value.length <= MAX_COOKIE_BYTES ? await sealer.open(value, new Date(ctx.nowMs()), ctx.cookie.name) : null;
    if (opened === null) {
      ctx.emit("tampered", null);
      return null;
    }
    return fromRecord(opened.record, value, hadCookie, opened.resign);
  }

  async function fromRecord(
    record: StoredSession,
    token: string | null,
    hadCookie: boolean,
    resign = false,
    viaGrace = false,
  ): Promise<Session<S> | null> {
    // dataBytes is in the default measure: a store with its own (Postgres' jsonb text, B9) is
    // measured by it, even when the record came from a cache in front of it.
    const dataBytes = store.entryBytes === undefined ? record.dataBytes : undefined;
    const result = hydrate(ctx.runtime, record.data, record.schemaVersion, ctx.nowMs(), dataBytes);
    if (!result.ok) {
      if (result.error) throw result.error;
      // Corrupt or (with onInvalid "reset") invalid data: the row goes and the request starts afresh (R43).
      ctx.emit(result.reason, record.id);
      await store.delete(record.id);
      return null;
    }
    if (result.invalid.length > 0) ctx.emit("invalid", record.id, { keys: result.invalid });
    return new Session<S>(ctx, { token, record, hydrated: result, hadCookie, resign, viaGrace });
  }

  return {
    operator,
    cookieName: ctx.cookie.name,
    $infer: undefined as unknown as z.output<S>,

    async load(source) {
      // The one place a bad cookie becomes a fresh session rather than an error (R6, R7, R38).
      const value = cookieValue(source, ctx.cookie.name);
      if (value === undefined) return fresh(false);
      if (ctx.sealer !== null) return (await openSealed(ctx.sealer, value, true)) ?? fresh(true);
      if (!isWellFormedToken(value)) {
        ctx.emit("tampered", null);
        return fresh(true);
      }
      return (await open(value, true)) ?? fresh(true);
    },

    async get(token) {
      if (ctx.sealer !== null) return openSealed(ctx.sealer, token, false);
      return isWellFormedToken(token) ? open(token, false) : null;
    },

    async destroy(token) {
      if (ctx.sealer !== null) {
        throw new SessionConfigError("destroy(token) needs a server-side store: a cookie store cannot revoke a cookie it issued");
      }
      if (!isWellFormedToken(token)) return false;
      const id = hashToken(token);
      const existed = (await readRecord(id, new Date(ctx.nowMs()))) !== null;
      await store.delete(id);
      if (existed) ctx.emit("destroyed", id);
      return existed;
    },

    async findMany({ where, limit }) {
      const now = ctx.nowMs();
      const records = await store.find(toWhere(ctx.runtime, where), new Date(now), limit === undefined ? {} : { limit });
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
      const { length: count } = await store.deleteWhere(toWhere(ctx.runtime, where), exceptId === undefined ? {} : { exceptId });
      ctx.emit("revoked", null, { count });
      return count;
    },

    async purgeExpired({ batchSize = 1000, onProgress } = {}) {
      if (!Number.isInteger(batchSize) || batchSize <= 0) throw new SessionConfigError("batchSize must be a positive integer");
      let total = 0;
      for (;;) {
        const deleted = await store.purgeExpired(new Date(ctx.nowMs()), batchSize);
        total += deleted;
        if (deleted > 0) onProgress?.(total);
        if (deleted < batchSize) return total;
      }
    },
  };
}
