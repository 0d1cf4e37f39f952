import type { Cluster, Redis } from "ioredis";
import { type Duration, toSeconds } from "../../duration.js";
import { SessionConfigError } from "../../errors.js";
import type { SessionCache } from "../../store.js";
import { defineCacheCommands } from "./cache-scripts.js";
import { DATA_FIELD_PREFIX, dataFields, fromHash, hashReader, toHashFields } from "./hash-codec.js";

/** Options of {@link redisCache}. */
export interface RedisCacheOptions {
  /**
   * An ioredis `Redis` or `Cluster` you own: Tessera never connects or quits it. Give it cache
   * settings, so that a dead Redis fails fast instead of queueing requests:
   * `{ maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 200 }`, and
   * handle its `'error'` events (`redis.on("error", log)`), which ioredis otherwise reports as
   * unhandled.
   */
  redis: Redis | Cluster;
  /**
   * Longest time that a copy or a mark lives in Redis: a `Duration` (a number is seconds,
   * fractions allowed; `"5m"`; `{ minutes: 5 }`). A copy lives min(the session's remaining life,
   * ttl). It is also how long a copy that could not be invalidated (logout while Redis was
   * unreachable) can still be served.
   * @default 300 (5 minutes)
   */
  ttl?: Duration;
  /**
   * Prefix of every key, so the cache's keys never meet the application's (R45). Keys are
   * `${prefix}c:{${id}}`: apart from `redisStore`'s `${prefix}s:` keys, one hash slot per session.
   * @default "tessera:"
   */
  prefix?: string;
}

/**
 * A Redis cache in front of a session store (Django's `cached_db`): `defineSession({ store,
 * cache: redisCache({ redis }) })`. Each session is one Redis hash laid out as `redisStore`'s
 * records are (`hash-codec.ts`): one field per session key, so a save rewrites only what changed.
 *
 * Round trips: `get` is one script (HGETALL, answered as one string: `hashReader`); `put`, `patch`, `touch` are one script each (EVALSHA);
 * `invalidate` is one script per id, sent together.
 *
 * Atomic: each method on one session, as one single-key script (so it also holds in a Cluster).
 * Every write is guarded by the record's `rev`: `put` never replaces a copy at the same or a newer
 * rev, nor lands below a floor mark (left at `rev` by a `patch` that had no copy at `rev - 1`
 * to apply to) or on a tombstone (left by `invalidate`). `touch` moves a copy's expiry only. So a
 * slow fill of an old row can never overwrite a newer write nor bring a deleted session back, for
 * as long as the marks live (`ttl`).
 *
 * Not atomic: the store and the cache together. The core writes the store first and the cache
 * next; if the cache write fails (Redis down, timeout), the copy may be stale until its ttl ends,
 * and in particular a session destroyed during an outage may still load from the cache for up to
 * `ttl`. `invalidate` of several ids is one command per id, not one transaction (the ids live in
 * different slots of a Cluster). Times are relative (PEXPIRE of `expiresAt - now`, with `now` the
 * core's clock), so Redis's own clock never decides a session's life; copies carry `expiresAt`
 * and the core treats an expired copy as a miss.
 *
 * @throws SessionConfigError when `redis` is not an ioredis client, `ttl` is not a positive
 *   duration or `prefix` is empty or contains `{`/`}`.
 * @example
 * import { Redis } from "ioredis";
 * import { redisCache } from "tesserae/redis";
 * const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 200 });
 * redis.on("error", (error) => logger.warn({ error }, "session cache"));
 * export const sessions = defineSession({ schema, store: drizzleStore({ db }), cache: redisCache({ redis, ttl: 300 }) });
 */
export function redisCache(options: RedisCacheOptions) {
  const redis: unknown = (options as Partial<RedisCacheOptions> | undefined)?.redis;
  if (typeof redis !== "object" || redis === null || typeof (redis as Redis).defineCommand !== "function") {
    throw new SessionConfigError("redisCache: `redis` must be an ioredis Redis or Cluster client");
  }
  const ttl = toSeconds(options.ttl ?? 300, "redisCache: `ttl`");
  if (Math.floor(ttl * 1000) < 1) throw new SessionConfigError("redisCache: `ttl` must be at least 1 ms");
  const prefix = options.prefix ?? "tessera:";
  if (typeof prefix !== "string" || prefix === "" || /[{}]/.test(prefix)) {
    throw new SessionConfigError("redisCache: `prefix` must be a non-empty string without `{` or `}`");
  }
  const client = options.redis;
  const commands = defineCacheCommands(client);
  const hashAt = hashReader(client);
  const ttlMs = Math.floor(ttl * 1000);
  const key = (id: string) => `${prefix}c:{${id}}`;
  // How long a copy may live: the session's remaining life by the core's clock, capped by ttl.
  // Zero or less makes the scripts drop the copy (R46).
  const lifeMs = (expiresAt: Date, now: Date) => Math.min(Math.floor(expiresAt.getTime() - now.getTime()), ttlMs);

  return {
    ttlMs,
    async get(id) {
      // A key of another type than a hash is a corrupt copy (B12), dropped by the core, not an outage.
      return fromHash(id, await hashAt(key(id)));
    },

    async put(record, now) {
      // A grace shadow is only a pointer to its successor and lives seconds: not worth a copy.
      // Data that is not an object (a corrupt row) has no hash form: left uncached, the core
      // reads the store's row as it is, reports it and deletes it (R43).
      if (record.successorId !== null || !isObject(record.data)) return;
      await commands.put(key(record.id), {
        rev: record.rev,
        ttlMs: lifeMs(record.expiresAt, now),
        markTtlMs: ttlMs,
        fields: toHashFields(record),
      });
    },

    async patch(id, patch, rev, now) {
      await commands.patch(key(id), {
        rev,
        ttlMs: lifeMs(patch.expiresAt, now),
        markTtlMs: ttlMs,
        expMs: patch.expiresAt.getTime(),
        updatedMs: patch.updatedAt.getTime(),
        schemaVersion: patch.schemaVersion,
        set: dataFields(patch.set),
        deleted: patch.deleted.map((name) => DATA_FIELD_PREFIX + name),
      });
    },

    async touch(id, expiresAt, now) {
      await commands.touch(key(id), { expMs: expiresAt.getTime(), ttlMs: lifeMs(expiresAt, now), markTtlMs: ttlMs });
    },

    async invalidate(ids) {
      // One single-key command per id: in a Cluster the ids live on different slots. ioredis
      // writes them back to back, so this still costs about one round trip per node.
      await Promise.all([...new Set(ids)].map((id) => commands.kill(key(id), { markTtlMs: ttlMs })));
    },
  } satisfies SessionCache;
}

function isObject(data: unknown): boolean {
  return typeof data === "object" && data !== null && !Array.isArray(data);
}
