import { withCache } from "./cached-store.js";
import { decodeEntry, isStoredEntry } from "./codec.js";
import { type Duration, toSeconds } from "./duration.js";
import { SessionConfigError, SessionUsageError } from "./errors.js";
import type { EventHandler, SessionEvent } from "./events.js";
import {
  defaultOf,
  EXPIRY_KEY,
  hydrate,
  type Migration,
  resolveSchema,
  type SchemaRuntime,
  type SessionData,
  type SessionKey,
  type SessionSchema,
  type SessionValue,
} from "./schema.js";
import type { SessionCache, SessionStore, StoredData, StoredSession, StoreStats, Where } from "./store.js";
import { sessionTag } from "./token.js";

/** A filter on session fields: equality on scalar values (indexed columns where the store has them). */
export type SessionWhere<S extends SessionSchema> = {
  [K in SessionKey<S>]?: Extract<SessionValue<S, K>, string | number | boolean> | undefined;
};

/** What an operator's `where` takes: the schema's fields when it knows the schema, else any field. */
export type OperatorWhere<S extends SessionSchema | undefined> = S extends SessionSchema ? SessionWhere<S> : Where;

/** A session's data as an operator reads it: typed by the schema when it knows it. */
export type OperatorData<S extends SessionSchema | undefined> = S extends SessionSchema
  ? SessionData<S>
  : Record<string, unknown>;

/** One session as `inspect` lists it: metadata and decoded data, never its id or token. */
export interface OperatorSession<S extends SessionSchema | undefined = undefined> {
  /** A one-way tag, as `onEvent` carries it (it changes on rotation). */
  tag: string;
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
  /** The schema version the data was written under (before any migration `inspect` applied). */
  schemaVersion: number;
  /** Keys whose own expiry passed are left out, as a load leaves them out. */
  data: OperatorData<S>;
}

/**
 * The operator surface: what the `tesserae` CLI and an app's admin page do with the sessions
 * as a whole, on the store itself (with its cache in front, without the request-path timeout).
 * `sessions.operator` is the one of a `defineSession` manager (typed by its schema);
 * `openOperator({ store })` builds one without a manager.
 */
export interface SessionOperator<S extends SessionSchema | undefined = undefined> {
  /**
   * Live sessions whose fields match, newest first, data decoded: with a schema, migrated and
   * validated as a load does (a key that fails it is left out, a session whose record is
   * unreadable is skipped); without, each entry as stored, decoded. Per-key expiry applies.
   * A bad `where` or `limit` is a `SessionUsageError`.
   */
  inspect(query: { where: OperatorWhere<S>; limit?: number }): Promise<OperatorSession<S>[]>;
  /**
   * Deletes every session whose fields match (and drops their cached copies); fires one
   * `revoked` event with the count. With a schema, a field not in it is a `SessionUsageError`.
   */
  revoke(query: { where: OperatorWhere<S> }): Promise<{ count: number; tags: string[] }>;
  /** Counts, recent creations, data sizes and the most frequent indexed values; null when the store cannot report them (only `drizzleStore` can). */
  stats(options?: { top?: number; now?: Date }): Promise<StoreStats | null>;
  /** How many sessions expired by `now`; null when the store cannot count them. */
  countExpired(options?: { now?: Date }): Promise<number | null>;
  /**
   * Deletes sessions expired by `now` (one instant for the whole run) in batches of
   * `batchSize`, until a batch comes back short; `onProgress` gets the running total after
   * each batch. Returns how many went. A `batchSize` that is not a positive integer is a
   * `SessionUsageError`.
   */
  purge(options?: { batchSize?: number; now?: Date; onProgress?: (deleted: number) => void }): Promise<number>;
  /** Reclaims the space purged rows left (`VACUUM (ANALYZE)` on Postgres); false when the store has nothing of the kind. */
  vacuum(): Promise<boolean>;
}

/** Options of `openOperator`. */
export interface OperatorOptions<S extends SessionSchema | undefined = undefined> {
  /** The app's store, e.g. `drizzleStore({ db, table })`. */
  store: SessionStore;
  /** The cache the app puts in front of it: `revoke` drops the cached copies too. @default undefined */
  cache?: SessionCache;
  /** Upper bound on each cache call; not the request path, so longer than a manager's. @default "5s" */
  cacheTimeout?: Duration;
  /** The session schema: typed `where` and `data`, fields checked, data validated. @default undefined */
  schema?: S;
  /** As `defineSession`'s: data of an older version is migrated before `inspect` shows it. @default 1 */
  version?: number;
  /** As `defineSession`'s. @default {} */
  migrations?: Record<number, Migration>;
  /** Receives `revoked`, and `cache-down`/`cache-up` when the cache fails or recovers. @default undefined */
  onEvent?: EventHandler;
  /** The clock, in epoch ms. @default Date.now */
  now?: () => number;
}

/** What `createOperator` needs: `defineSession` passes its own, `openOperator` builds one. */
export interface OperatorContext {
  /** The composed store (cache in front), without the request-path timeout. */
  store: SessionStore;
  runtime: SchemaRuntime | null;
  emit(type: SessionEvent["type"], extra?: Omit<SessionEvent, "type" | "tag">): void;
  nowMs(): number;
}

/**
 * An operator over a store, for a tool or an admin page that has no `defineSession` manager
 * at hand (with one, use `sessions.operator`). Validates its options now (`SessionConfigError`).
 * @example
 * const operator = openOperator({ store: drizzleStore({ db }), cache: redisCache({ redis }) });
 * await operator.revoke({ where: { userId: "u_123" } });
 */
export function openOperator<S extends SessionSchema | undefined = undefined>(options: OperatorOptions<S>): SessionOperator<S> {
  if (typeof options !== "object" || options === null) throw new SessionConfigError("openOperator needs an options object");
  const { store, cache, onEvent, schema } = options;
  if (typeof store !== "object" || store === null || typeof store.deleteWhere !== "function") {
    throw new SessionConfigError("store must be a server-side session store such as drizzleStore({ db }) or memoryStore()");
  }
  if (cache !== undefined && (typeof cache !== "object" || cache === null || typeof cache.put !== "function")) {
    throw new SessionConfigError("cache must be a session cache such as redisCache({ redis })");
  }
  const emit: OperatorContext["emit"] = (type, extra) => {
    try {
      onEvent?.({ type, ...extra });
    } catch {
      // A logging hook must never break the operation.
    }
  };
  const timeoutMs = toSeconds(options.cacheTimeout ?? "5s", "cacheTimeout") * 1000;
  const composed =
    cache === undefined
      ? store
      : withCache(store, cache, {
          timeoutMs,
          onStateChange: (state) => emit(state === "down" ? "cache-down" : "cache-up"),
        });
  const runtime = schema === undefined ? null : resolveSchema(schema, options.version ?? 1, options.migrations ?? {}, "drop");
  return createOperator<S>({ store: composed, runtime, emit, nowMs: options.now ?? Date.now });
}

/** A count passed to a call (`limit`, `top`, `batchSize`) must be a positive integer: a call-time misuse otherwise. */
export function checkCount(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new SessionUsageError(`${name} must be a positive integer`);
}

/** The operator over a resolved context (`defineSession` and `openOperator`). */
export function createOperator<S extends SessionSchema | undefined>(ctx: OperatorContext): SessionOperator<S> {
  const { store, runtime } = ctx;
  return {
    async inspect({ where, limit }) {
      // Checked here: the memory store would slice off the last sessions for a negative one.
      if (limit !== undefined) checkCount("limit", limit);
      const now = ctx.nowMs();
      const records = await store.find(toWhere(runtime, where), new Date(now), limit === undefined ? {} : { limit });
      const list: OperatorSession<S>[] = [];
      for (const record of records) {
        const data = runtime === null ? decodeAsStored(record.data, now) : decodeWithSchema(runtime, record, now);
        if (data === null) continue;
        list.push({
          tag: sessionTag(record.id),
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          expiresAt: record.expiresAt,
          schemaVersion: record.schemaVersion,
          data: data as OperatorData<S>,
        });
      }
      return list;
    },

    async revoke({ where }) {
      const ids = await store.deleteWhere(toWhere(runtime, where));
      ctx.emit("revoked", { count: ids.length });
      return { count: ids.length, tags: ids.map(sessionTag) };
    },

    async stats({ top = 10, now } = {}) {
      checkCount("top", top);
      return store.stats ? store.stats(now ?? new Date(ctx.nowMs()), { top }) : null;
    },

    async countExpired({ now } = {}) {
      return store.countExpired ? store.countExpired(now ?? new Date(ctx.nowMs())) : null;
    },

    async purge({ batchSize = 1000, now, onProgress } = {}) {
      checkCount("batchSize", batchSize);
      const at = now ?? new Date(ctx.nowMs());
      let total = 0;
      for (;;) {
        const deleted = await store.purgeExpired(at, batchSize);
        total += deleted;
        onProgress?.(total);
        // A short batch: nothing expired is left, or another purger holds the rest (SKIP LOCKED).
        if (deleted < batchSize) return total;
      }
    },

    async vacuum() {
      if (!store.vacuum) return false;
      await store.vacuum();
      return true;
    },
  };
}

/**
 * A `where` as a store takes it: at least one field, scalar values, and with a schema only
 * its fields. Shared with the manager's `findMany` and `revoke`. A bad one is the caller's
 * mistake at call time, a `SessionUsageError`, not start-up misconfiguration (`CONFIG`).
 */
export function toWhere(runtime: SchemaRuntime | null, where: unknown): Where {
  if (typeof where !== "object" || where === null) throw new SessionUsageError("where must be an object of fields");
  const entries = Object.entries(where).filter(([, value]) => value !== undefined);
  if (entries.length === 0) throw new SessionUsageError("where needs at least one field (refusing to match every session)");
  for (const [key, value] of entries) {
    if (runtime !== null && !Object.hasOwn(runtime.shape, key)) {
      throw new SessionUsageError(`where: "${key}" is not in the schema`);
    }
    if (!["string", "number", "boolean"].includes(typeof value)) {
      throw new SessionUsageError(`where: "${key}" must be a string, number or boolean`);
    }
    // No stored session can hold such text (the codec refuses it at set()), and drivers do not
    // send it as given: postgres.js and libSQL turn a lone surrogate into U+FFFD, so a revoke for
    // "\udfff" would reach the sessions of the user "\ufffd"; Postgres refuses U+0000 as an
    // outage. Refused here, for every store, as the caller's mistake it is.
    if (unsendable.test(key) || (typeof value === "string" && unsendable.test(value))) {
      throw new SessionUsageError(`where: "${key}" holds U+0000 or a lone surrogate, which no session can hold`);
    }
  }
  return Object.fromEntries(entries) as Where;
}

// U+0000, a high surrogate not followed by a low one, or a low one not preceded by a high one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what it looks for.
const unsendable = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** As a load reads it: migrated, validated (invalid keys dropped), schema defaults filled in; null when unreadable. */
function decodeWithSchema(runtime: SchemaRuntime, record: StoredSession, now: number): Record<string, unknown> | null {
  const result = hydrate({ ...runtime, onInvalid: "drop" }, record.data, record.schemaVersion, now);
  if (!result.ok) return null;
  const data: Record<string, unknown> = {};
  for (const key of Object.keys(runtime.shape)) {
    const value = result.values.has(key) ? result.values.get(key) : defaultOf(runtime, key);
    if (value !== undefined || result.values.has(key)) data[key] = value;
  }
  return data;
}

/**
 * Without a schema: each entry decoded by superjson, keys whose own `exp` passed left out (a
 * load treats them as absent), the core's `$expiry` left out. An entry that does not decode is
 * shown as stored rather than failing the whole listing.
 */
function decodeAsStored(data: StoredData, now: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(data)) {
    if (key === EXPIRY_KEY) continue;
    if (!isStoredEntry(entry)) {
      out[key] = entry;
      continue;
    }
    if (entry.exp !== undefined && entry.exp <= now) continue;
    try {
      out[key] = decodeEntry(entry);
    } catch {
      out[key] = entry.json;
    }
  }
  return out;
}
