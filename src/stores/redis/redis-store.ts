import type { Cluster, Redis } from "ioredis";
import {
  isTesseraError,
  SessionConfigError,
  SessionLateWriteError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
} from "../../errors.js";
import type { JsonValue, SessionStore, StoredData, StoredSession, Where } from "../../store.js";
import { utf8Length } from "../../utf8.js";
import { DATA_FIELD_PREFIX, dataFields, fromHash, type HashPairs, hashField, hashReader, metaFields } from "./hash-codec.js";
import { defineStoreCommands, type RecordReply } from "./store-scripts.js";

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * An ioredis `Redis` or `Cluster` you own: Tessera never connects or quits it. Give it settings
   * that fail fast when Redis is down instead of queueing requests (R48, R56), e.g.
   * `{ maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 500 }`, and handle its
   * `'error'` events (`redis.on("error", log)`), which ioredis otherwise reports as unhandled.
   */
  redis: Redis | Cluster;
  /**
   * Prefix of every key, so the store's keys never meet the application's (R45). Sessions are
   * `${prefix}s:{${id}}` (one hash slot per session), index sets `${prefix}i:${field}:${value}`.
   * @default "tessera:"
   */
  prefix?: string;
  /**
   * Session fields kept in per-value index sets, so that `findMany`/`revoke` can look them up,
   * e.g. `["userId"]`. A `where` on any other field is a `SessionConfigError`. Each costs a
   * second round trip on the writes that change it (login, logout), none on the others.
   * @default [] (no lookups)
   */
  indexes?: readonly string[];
}

// Index sets expire at the end of the day (epoch ms, by the core's clock) of their longest
// member's expiry. Grid-aligned, so a write re-extends a set only when it moves a session's
// expiry into a later day: at most one extra command per active session per day.
const INDEX_STEP_MS = 86_400_000;
const indexUntil = (expMs: number) => Math.ceil(expMs / INDEX_STEP_MS) * INDEX_STEP_MS;

type Values = (JsonValue | undefined)[];

/**
 * Session store on Redis alone: one hash per session (`hash-codec.ts`, shared with `redisCache`),
 * one field per session key, so a patch rewrites only what changed and concurrent saves of
 * different keys all survive (R53).
 *
 * Round trips: `get` is one script (HGETALL, answered as one string: `hashReader`); `create`, `patch`, `replace`, `touch` and `delete` are one
 * script each (EVALSHA), plus one more command per changed index set when they change an indexed
 * field (login, logout) or move the expiry into a later day. `rotate` is two (three with indexes);
 * `find` and `deleteWhere` are SMEMBERS plus one command per member, sent together.
 *
 * Expiry is decided by the core's clock, never Redis's: each write sets the key's TTL to the
 * remaining life by the `now` it is given (`PEXPIRE` of `expiresAt - now`; for `create`,
 * `expiresAt - updatedAt`), and deletes the key when that is not positive (R46). A record whose
 * `expiresAt` has passed at `now` is never returned, and the writes refuse it. `purgeExpired` is
 * a no-op: Redis drops keys at their TTL, and the store never scans.
 *
 * Atomic: every write on one session, as one single-key script, update-only: `patch`, `replace`
 * and `touch` of a record that is gone, expired or a grace shadow write nothing and return
 * null/false, so a save never resurrects a session (R51). `patch` also refuses, writing nothing,
 * a patch that would grow the data past `maxBytes` (B9), by a running size kept in the hash
 * (`store-scripts.ts`). `get` throws `SessionCorruptError` for a hash it cannot read, or a key
 * of another type than a hash (B12, `hash-codec.ts`); the writes treat such a key as no live
 * session (null/false), `find` skips it, and `delete` removes it whatever its type.
 *
 * Not atomic:
 * - `rotate`: the old and the new key live in different slots of a Cluster, so it retires the old
 *   record first (one script), and only if that was live creates the new one. A failure between
 *   the two loses the session (the user signs in again); it never duplicates or resurrects one.
 * - Index sets: updated after the session's own write, one command per set (if that fails the
 *   call rejects although the session was written). A failure in between, or two concurrent
 *   saves changing the same indexed field, can leave a set stale: an extra member is harmless
 *   (`find` and `deleteWhere` check each record), a missing one hides that session from them
 *   until the field is written again or its expiry moves into a later day. `find` removes
 *   members that are gone, expired or shadows.
 * - `deleteWhere`: each session is checked and deleted by its own script, not all at once.
 *
 * @throws SessionConfigError when `redis` is not an ioredis client, `prefix` is empty or holds
 *   `{`/`}`, or `indexes` is not a list of distinct field names without `:`, `{` or `}`.
 * @example
 * import { Redis } from "ioredis";
 * import { redisStore } from "tesserae/redis";
 * const redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 500 });
 * redis.on("error", (error) => logger.warn({ error }, "session store"));
 * export const sessions = defineSession({ schema, store: redisStore({ redis, indexes: ["userId"] }) });
 */
export function redisStore(options: RedisStoreOptions) {
  const redis: unknown = (options as Partial<RedisStoreOptions> | undefined)?.redis;
  if (typeof redis !== "object" || redis === null || typeof (redis as Redis).defineCommand !== "function") {
    throw new SessionConfigError("redisStore: `redis` must be an ioredis Redis or Cluster client");
  }
  const prefix = options.prefix ?? "tessera:";
  // A brace would make Redis hash only part of the key, breaking the one-slot-per-session tag.
  if (typeof prefix !== "string" || prefix === "" || /[{}]/.test(prefix)) {
    throw new SessionConfigError("redisStore: `prefix` must be a non-empty string without `{` or `}`");
  }
  const indexes: unknown = options.indexes ?? [];
  if (
    !Array.isArray(indexes) ||
    new Set(indexes).size !== indexes.length ||
    !indexes.every((field) => typeof field === "string" && /^[^:{}]+$/.test(field))
  ) {
    throw new SessionConfigError("redisStore: `indexes` must be distinct session field names without `:`, `{` or `}`");
  }
  const fields = [...(indexes as string[])];
  const client = options.redis;
  const sessionKey = (id: string) => `${prefix}s:{${id}}`;
  const indexKey = (field: string, value: JsonValue | undefined) =>
    typeof value === "string" || typeof value === "number" || typeof value === "boolean"
      ? `${prefix}i:${field}:${String(value)}`
      : null;
  const commands = defineStoreCommands(
    client,
    fields.map((field) => DATA_FIELD_PREFIX + field),
  );
  const hashAt = hashReader(client);
  const none: Values = fields.map(() => undefined);
  const valuesOf = (data: StoredData): Values =>
    fields.map((field) => (Object.hasOwn(data, field) ? data[field]?.json : undefined));

  /**
   * Moves `id` between index sets after its record changed from `before` to `after` (values of
   * `fields`, undefined when absent). A set it joins, or stays in while its expiry moved to a later
   * day, is extended to outlive it; nothing is sent when nothing changed.
   */
  async function reindex(id: string, before: Values, after: Values, expMs: number, nowMs: number, oldExpMs = expMs) {
    const alive = expMs > nowMs;
    const extend = indexUntil(expMs) > indexUntil(oldExpMs);
    const sent: Promise<unknown>[] = [];
    fields.forEach((field, i) => {
      const from = indexKey(field, before[i]);
      const to = alive ? indexKey(field, after[i]) : null;
      if (from !== null && from !== to) sent.push(client.srem(from, id));
      if (to !== null && (to !== from || extend)) sent.push(commands.indexAdd(to, { id, ttlMs: indexUntil(expMs) - nowMs }));
    });
    await Promise.all(sent);
  }

  async function create(record: StoredSession, nowMs: number) {
    const ttlMs = record.expiresAt.getTime() - nowMs;
    if ((await commands.create(sessionKey(record.id), { ttlMs, fields: wholeRecord(record) })) === 0) {
      throw new SessionStoreError("a session with this id already exists");
    }
    await reindex(record.id, none, valuesOf(record.data), record.expiresAt.getTime(), nowMs);
  }

  const checkWhere = (where: Where, method: string): [string, string | number | boolean][] => {
    const entries = Object.entries(where);
    // An empty filter would match every session of every user: refuse it loudly.
    if (entries.length === 0) throw new SessionUsageError(`redisStore.${method}: \`where\` names no field`);
    for (const [field] of entries) {
      if (!fields.includes(field)) {
        throw new SessionUsageError(`redisStore.${method}: "${field}" is not indexed; add it to redisStore({ indexes })`);
      }
    }
    return entries;
  };

  return {
    async get(id, now) {
      const hash = await hashAt(sessionKey(id));
      const record = fromHash(id, hash);
      if (record === null) return null;
      if (record.expiresAt.getTime() > now.getTime()) {
        // B9: entries written into the hash by hand leave the running size behind. Dropping it
        // makes the next patch measure the record in full; never wrong, whatever raced with it.
        const bytes = hashField(hash, "bytes");
        if (bytes !== undefined && Number(bytes) !== record.dataBytes) {
          await client.hdel(sessionKey(id), "bytes").catch(() => undefined);
        }
        return record;
      }
      // Lazy delete, guarded so a record refreshed meanwhile survives. Failing it is harmless:
      // the record is never returned and Redis drops it at its TTL anyway.
      try {
        if ((await commands.dropExpired(sessionKey(id), { nowMs: now.getTime() })) > 0) {
          await reindex(id, valuesOf(record.data), none, 0, now.getTime());
        }
      } catch {}
      return null;
    },

    async create(record) {
      await create(record, record.updatedAt.getTime());
    },

    async replace(record, now, notAfter?) {
      const nowMs = now.getTime();
      const expMs = record.expiresAt.getTime();
      const reply = await commands.replace(sessionKey(record.id), {
        nowMs,
        ttlMs: expMs - nowMs,
        notAfterMs: notAfter?.getTime(),
        fields: wholeRecord(record),
      });
      if (reply === null) return null;
      if (reply[0] === -2) throw new SessionLateWriteError("redisStore");
      const [rev, oldExp, ...before] = reply as Exclude<RecordReply, null>;
      await reindex(record.id, before.map(jsonOf), valuesOf(record.data), expMs, nowMs, Number(oldExp));
      return rev;
    },

    async patch(id, patch, now) {
      const nowMs = now.getTime();
      const expMs = patch.expiresAt.getTime();
      const reply = await commands.patch(sessionKey(id), {
        nowMs,
        expMs,
        updatedMs: patch.updatedAt.getTime(),
        schemaVersion: patch.schemaVersion,
        ttlMs: expMs - nowMs,
        maxBytes: patch.maxBytes,
        notAfterMs: patch.notAfter?.getTime(),
        set: dataFields(patch.set),
        deleted: patch.deleted.map((key) => DATA_FIELD_PREFIX + key),
      });
      if (reply === null) return null;
      if (reply[0] === -1) throw new SessionTooLargeError(Number(reply[1]), patch.maxBytes);
      if (reply[0] === -2) throw new SessionLateWriteError("redisStore");
      const [rev, oldExp, ...entries] = reply as Exclude<typeof reply, [-1, number] | [-2, number]>;
      const before = entries.map(jsonOf);
      const after = fields.map((field, i) =>
        Object.hasOwn(patch.set, field) ? patch.set[field]?.json : patch.deleted.includes(field) ? undefined : before[i],
      );
      await reindex(id, before, after, expMs, nowMs, Number(oldExp));
      return rev;
    },

    async touch(id, expiresAt, now) {
      const nowMs = now.getTime();
      const expMs = expiresAt.getTime();
      const reply = await commands.touch(sessionKey(id), { nowMs, expMs, ttlMs: expMs - nowMs });
      if (reply === null) return false;
      const [, oldExp, ...entries] = reply;
      const values = entries.map(jsonOf);
      await reindex(id, values, values, expMs, nowMs, Number(oldExp));
      return true;
    },

    async rotate(oldId, record, graceUntil, now) {
      const nowMs = now.getTime();
      const grace =
        graceUntil === null
          ? null
          : { successorId: record.id, untilMs: graceUntil.getTime(), ttlMs: graceUntil.getTime() - nowMs };
      const reply = await commands.retire(sessionKey(oldId), { nowMs, grace });
      if (reply === null) return false;
      // The old record is retired: from here a failure loses the session, never duplicates it.
      const [, , ...entries] = reply;
      await Promise.all([create(record, nowMs), reindex(oldId, entries.map(jsonOf), none, 0, nowMs)]);
      return true;
    },

    async delete(id) {
      const [, , ...entries] = await commands.remove(sessionKey(id));
      await reindex(id, entries.map(jsonOf), none, 0, 0);
    },

    async find(where, now, options = {}) {
      const entries = checkWhere(where, "find");
      const [field, value] = entries[0] as [string, string | number | boolean];
      const setKey = indexKey(field, value) as string;
      const ids = await client.smembers(setKey);
      // One read per member, sent together: in a Cluster they live in different slots.
      const hashes = await Promise.all(ids.map((id) => hashAt(sessionKey(id)).catch(unlessCorrupt)));
      const found: StoredSession[] = [];
      const dead: string[] = [];
      ids.forEach((id, i) => {
        const hash = hashes[i];
        const record = hash === CORRUPT ? undefined : readable(id, hash ?? []);
        if (record === undefined) return;
        // Gone, expired or a shadow: none of these ever becomes a live record again.
        if (record === null || !(record.expiresAt.getTime() > now.getTime()) || record.successorId !== null) dead.push(id);
        else if (entries.every(([key, wanted]) => record.data[key]?.json === wanted)) found.push(record);
      });
      if (dead.length > 0) await client.srem(setKey, ...dead);
      found.sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
      return options.limit === undefined ? found : found.slice(0, options.limit);
    },

    async deleteWhere(where, options = {}) {
      const entries = checkWhere(where, "deleteWhere");
      const [field, value] = entries[0] as [string, string | number | boolean];
      const setKey = indexKey(field, value) as string;
      const ids = (await client.smembers(setKey)).filter((id) => id !== options.exceptId);
      const matching = entries.map(([key, wanted]) => [DATA_FIELD_PREFIX + key, JSON.stringify(wanted)] as const);
      const replies = await Promise.all(ids.map((id) => commands.removeMatching(sessionKey(id), { where: matching })));
      const deleted: string[] = [];
      const gone: string[] = [];
      const cleanups: Promise<unknown>[] = [];
      replies.forEach((reply, i) => {
        const id = ids[i] as string;
        if (reply[0] === 0) gone.push(id);
        else if (reply[0] === 1) {
          deleted.push(id);
          cleanups.push(
            reindex(
              id,
              reply.slice(2).map((raw) => jsonOf(raw as string | null)),
              none,
              0,
              0,
            ),
          );
        }
      });
      if (gone.length > 0) cleanups.push(client.srem(setKey, ...gone));
      await Promise.all(cleanups);
      return deleted;
    },

    async purgeExpired(_now, _batchSize) {
      // Redis drops every key at its TTL (the remaining life when last written): nothing to scan.
      return 0;
    },
  } satisfies SessionStore;
}

/**
 * A whole record's hash fields plus `bytes`, the size of its data that the patch script keeps up
 * to date (B9): Σ of the UTF-8 lengths of its entries' JSON, as Redis' HSTRLEN counts them.
 */
function wholeRecord(record: StoredSession): (string | number)[] {
  const data = dataFields(record.data);
  let bytes = 0;
  for (let i = 1; i < data.length; i += 2) bytes += utf8Length(data[i] as string);
  return [...metaFields(record), ...data, "bytes", bytes];
}

const CORRUPT = Symbol("corrupt");

/** For listings: a key that is not a hash (`hashAt`'s SessionCorruptError) is not listed either. */
function unlessCorrupt(error: unknown): typeof CORRUPT {
  if (isTesseraError(error) && error.code === "SESSION_CORRUPT") return CORRUPT;
  throw error;
}

/** `fromHash` for listings: a corrupt record is not listed (its own `get` reports it). */
function readable(id: string, hash: HashPairs): StoredSession | null | undefined {
  try {
    return fromHash(id, hash);
  } catch (error) {
    if (isTesseraError(error) && error.code === "SESSION_CORRUPT") return undefined;
    throw error;
  }
}

/** The `json` of a stored entry's raw text, or undefined when absent or unparsable. */
function jsonOf(raw: string | null | undefined): JsonValue | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    return (JSON.parse(raw) as { json?: JsonValue } | null)?.json;
  } catch {
    return undefined;
  }
}
