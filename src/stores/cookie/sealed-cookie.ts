import { MAX_COOKIE_BYTES, sessionCookieBytesBound } from "../../cookie.js";
import { SessionConfigError, SessionTooLargeError, SessionUsageError } from "../../errors.js";
import { checkCount, type SessionOperator } from "../../operator.js";
import type { OpenedRecord, PersistedSession, Persistence, SessionContext } from "../../persistence.js";
import type { SessionSchema } from "../../schema.js";
import type { CookieSessionStore, SessionCache, StoredData } from "../../store.js";
import { createToken, hashToken } from "../../token.js";
import { utf8Length } from "../../utf8.js";

/** What `sealedCookie` needs beside the store; `defineSession` resolves it from the options. */
export interface SealedCookieOptions {
  cache: SessionCache | undefined;
  cookieName: string;
  emit: SessionContext["emit"];
  nowMs(): number;
}

/** Stands for a new session's id in a size check: every id is 64 hex digits. */
const PLACEHOLDER_ID = "0".repeat(64);

/**
 * Sessions kept in the cookie itself (`cookieStore`): the whole record is sealed into the cookie
 * on every change, rotation, re-sign or due refresh. Nothing is kept server-side, so nothing can
 * be listed, revoked or purged, and a rotated or destroyed session's old cookie cannot be killed,
 * only replaced (documented in docs/stores.md).
 */
export function sealedCookie(sealer: CookieSessionStore, options: SealedCookieOptions): Persistence {
  const { cookieName: name, emit, nowMs } = options;
  if (options.cache !== undefined) throw new SessionConfigError("a cookie store keeps nothing server-side to cache");
  const serverOnly = (what: string) =>
    new SessionUsageError(
      `${what} needs a server-side store: a cookie store keeps each session in its cookie, so it cannot list or revoke sessions`,
    );

  return {
    defaultMaxBytes: 4096,
    entryBytes: undefined,

    /**
     * B8: refuses a write whose cookie (name, sealed value and attributes) would pass 4096 bytes,
     * at the call, instead of at commit while the adapter is finishing the response.
     * `sealedLength` holds for any later instant (the dates are counted at their widest), and the
     * attributes are counted at their longest, so a session whose writes all passed this check
     * does not fail at commit for size.
     */
    checkFits(state: PersistedSession, data: StoredData) {
      const id = state.record?.id ?? state.id ?? PLACEHOLDER_ID;
      const record = { ...state.fullRecord(id, nowMs()), data, rev: (state.record?.rev ?? 0) + 1 };
      const chars = sealer.sealedLength(record, name);
      const persistent = state.override(data)?.kind !== "browser";
      const bytes = sessionCookieBytesBound(state.ctx.cookie, chars, persistent);
      if (bytes > MAX_COOKIE_BYTES) throw new SessionTooLargeError(bytes, MAX_COOKIE_BYTES);
    },

    /** A seal that does not verify is a fresh session (R38). */
    async open(value): Promise<OpenedRecord | null> {
      // Browsers drop cookies over 4 KiB; anything longer was never ours and is not worth verifying.
      const opened = value.length <= MAX_COOKIE_BYTES ? await sealer.open(value, new Date(nowMs()), name) : null;
      if (opened === null) {
        emit("tampered", null);
        return null;
      }
      return { record: opened.record, token: value, resign: opened.resign, viaGrace: false };
    },

    // The record is in the cookie: a fresh session replaces it at the next commit.
    drop: async () => {},

    /** Too big for a cookie → nothing is sent and `SessionTooLargeError` names the size (R19). */
    async save(state, now) {
      const record = state.record;
      if (record === null && !state.data.hasData) return;
      if (record === null && state.expiredOnPurpose(now)) return;
      if (record !== null && !(state.data.isModified || state.policyChanged || state.reseal || state.touchDue(now))) return;
      state.id ??= hashToken(createToken());
      const id = record?.id ?? state.id;
      const full = { ...state.fullRecord(id, now), rev: (record?.rev ?? 0) + 1 };
      const sent = state.pending();
      const value = await sealer.seal(full, name);
      const bytes = utf8Length(state.cookieFor(value, full.expiresAt, now).header);
      if (bytes > MAX_COOKIE_BYTES) throw new SessionTooLargeError(bytes, MAX_COOKIE_BYTES);
      state.token = value;
      state.saved(full, sent);
      state.reseal = false;
      state.cookie = "set";
      if (record === null) emit("created", id);
    },

    // Nothing is stored server-side: the old cookie cannot be killed, only replaced (documented).
    async rotate(state) {
      const id = hashToken(createToken());
      state.id = id;
      if (state.record === null) return;
      state.record = { ...state.record, id };
      state.reseal = true;
      emit("rotated", id);
    },

    async destroy(state) {
      const id = state.record?.id ?? null;
      if (id !== null) emit("destroyed", id);
      state.ended();
    },

    destroyToken: async () => {
      throw new SessionUsageError("destroy(token) needs a server-side store: a cookie store cannot revoke a cookie it issued");
    },
    find: async () => {
      throw serverOnly("findMany");
    },
    deleteWhere: async () => {
      throw serverOnly("revoke");
    },
    // Expired cookies die in the browser and are refused on load: there is nothing to purge.
    purgeExpired: async (_now, batchSize) => {
      checkCount("batchSize", batchSize);
      return 0;
    },
    operator: <S extends SessionSchema>() => sealedOperator<S>(serverOnly),
  };
}

/**
 * `sessions.operator` of a cookie store: nothing to inspect or revoke, nothing to count or purge.
 * Its arguments are checked as a server store's operator checks them, so a bad call fails in
 * development on a cookie store as it would in production on a server store.
 */
function sealedOperator<S extends SessionSchema>(serverOnly: (what: string) => SessionUsageError): SessionOperator<S> {
  return {
    inspect: async () => {
      throw serverOnly("inspect");
    },
    revoke: async () => {
      throw serverOnly("revoke");
    },
    stats: async ({ top = 10 } = {}) => {
      checkCount("top", top);
      return null;
    },
    countExpired: async () => null,
    purge: async ({ batchSize = 1000 } = {}) => {
      checkCount("batchSize", batchSize);
      return 0;
    },
    vacuum: async () => false,
  };
}
