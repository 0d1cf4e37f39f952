import type { Cluster, Redis } from "ioredis";
import { DATA_FIELD_PREFIX } from "./hash-codec.js";
import { defineScripts, LUA_HMGET_ANY, LUA_SLICES } from "./lua.js";

/**
 * The Lua behind `redisStore`. Each script touches one key (`KEYS[1]`: one session hash, or one
 * index set), so it runs atomically on that key's node, standalone or in a Cluster. Index sets
 * live in other slots than their sessions, so the store updates them with separate commands.
 * The names start with `tesseraStore` so they cannot clash with `redisCache`'s scripts on a
 * shared client.
 *
 * Scripts that read the indexed fields of a session take them first: `ARGV[1]` = n, then the n
 * hash fields (`d:userId`, …); their own arguments follow (`arg(i)`). A write to a record answers
 * `false` when the record is not live (absent, expired at the caller's `now`, or a grace shadow),
 * having written nothing, so a save never resurrects a session (R51). Otherwise it answers
 * `{ rev, exp before the write, the indexed entries before the write (false when absent) }`:
 * what the client needs to move the session between index sets.
 */
type Arg = string | number;

const prelude = `${LUA_HMGET_ANY}
local nIdx = tonumber(ARGV[1])
local function arg(i) return ARGV[nIdx + 1 + i] end
-- One read for what every script needs: rev, exp, succ, bytes, updated, then the indexed entries
-- (false when absent). A key of another type than a hash reads as absent (B12): no live record,
-- so the writes refuse it and remove deletes it.
local function read(key)
  return hmgetAny(key, 'rev', 'exp', 'succ', 'bytes', 'updated', unpack(ARGV, 2, nIdx + 1))
end
local function answer(first, exp, m)
  local out = { first, exp }
  for i = 1, nIdx do out[2 + i] = m[5 + i] end
  return out
end
-- A write whose caller gave up at notAfter ('' for no deadline) and that finds the record written
-- by a call stamped later arrived late (held by the client through a reconnect): it must not
-- undo the newer write.
local function late(m, notAfter)
  if notAfter == '' then return false end
  local updated = tonumber(m[5])
  return updated ~= nil and updated > tonumber(notAfter)
end
-- Whether the record read is live at now and not a grace shadow. A record whose exp does not
-- parse is never live.
local function live(m, now)
  local exp = tonumber(m[2])
  return m[1] and exp and exp > now and not (m[3] and m[3] ~= '')
end
-- The size of the record's data in full: Σ of the lengths of its d: fields.
local function dataBytes(key)
  local all = redis.call('HGETALL', key)
  local n = 0
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, ${DATA_FIELD_PREFIX.length}) == '${DATA_FIELD_PREFIX}' then n = n + #all[i + 1] end
  end
  return n
end
-- R46: the TTL is the remaining life by the caller's clock; a non-positive one deletes.
local function expireIn(key, ttl)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('DEL', key) end
end
`;

/** ARGV: ttl, then the record's field/value pairs. 0 when the key exists (nothing written), else 1. */
const create = `${LUA_SLICES}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl = tonumber(ARGV[1])
if ttl <= 0 then return 1 end
hsetFrom(KEYS[1], 2, #ARGV)
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

/** The create script's arguments. */
export interface CreateArgs {
  ttlMs: number;
  /** The whole record's hash field/value pairs. */
  fields: readonly Arg[];
}
/** ARGV of `create` (no index head): ttl, then the pairs from ARGV[2]. */
export const createArgv = (a: CreateArgs): Arg[] => [a.ttlMs, ...a.fields];

/**
 * arg: now, exp, updated, ver, ttl, count of set values, maxBytes, notAfter ('' for none), the set
 * pairs, then the fields to delete. Answers { -1, size } (writing nothing) when the patch would
 * grow the record's data past maxBytes (B9), { -2, updated } when it arrived late (see `late`). The size of the data, Σ of its `d:` fields' lengths (each is
 * JSON.stringify(entry): the core's measure), is kept in `bytes` and moved by each patch by the
 * lengths of what it replaces and writes; a record without a valid one is measured in full once.
 */
const patch = `${prelude}${LUA_SLICES}
local m = read(KEYS[1])
if not live(m, tonumber(arg(1))) then return false end
if late(m, arg(8)) then return { -2, tonumber(m[5]) } end
local first = nIdx + 10
local last = first + tonumber(arg(6)) - 1
local before = tonumber(m[4])
if not before or before < 0 or before % 1 ~= 0 then before = dataBytes(KEYS[1]) end
local bytes = before
for i = first, last, 2 do
  bytes = bytes - redis.call('HSTRLEN', KEYS[1], ARGV[i]) + #ARGV[i + 1]
end
if last < #ARGV then
  local seen = {}
  for i = last + 1, #ARGV do
    if not seen[ARGV[i]] then
      seen[ARGV[i]] = true
      bytes = bytes - redis.call('HSTRLEN', KEYS[1], ARGV[i])
    end
  end
end
-- Never grow a record past maxBytes; a patch that does not grow one already over it (written
-- under a larger limit) goes through, so deleting keys can bring it back under.
local limit = tonumber(arg(7))
if limit and bytes > limit then
  -- Over the limit by the running total: measure in full before deciding, so a total made wrong
  -- by hand (fields written outside these scripts) neither refuses a patch that fits nor stays
  -- wrong. Only records at their limit pay for the scan.
  local full = dataBytes(KEYS[1])
  bytes = bytes - before + full
  before = full
  if bytes > limit and bytes > before then return { -1, bytes } end
end
hdelFrom(KEYS[1], last + 1, #ARGV)
local rev = tonumber(m[1]) + 1
-- The changed entries and the metadata in one HSET: each redis.call costs a few µs of the
-- server's single thread. Slices only for a patch too long for one unpack.
if last - first < 990 then
  redis.call('HSET', KEYS[1], 'exp', arg(2), 'updated', arg(3), 'ver', arg(4), 'rev', rev, 'bytes', bytes, unpack(ARGV, first, last))
else
  hsetFrom(KEYS[1], first, last)
  redis.call('HSET', KEYS[1], 'exp', arg(2), 'updated', arg(3), 'ver', arg(4), 'rev', rev, 'bytes', bytes)
end
-- An unchanged exp keeps the TTL the write that set it gave: it already ends at that instant.
if arg(2) ~= m[2] then expireIn(KEYS[1], tonumber(arg(5))) end
return answer(rev, m[2], m)
`;

/** The patch script's arguments (after the index head). */
export interface PatchArgs {
  nowMs: number;
  expMs: number;
  updatedMs: number;
  schemaVersion: number;
  ttlMs: number;
  maxBytes: number;
  /** The caller's deadline, if any (`SessionPatch.notAfter`). */
  notAfterMs: number | undefined;
  /** `d:<key>`/JSON pairs to set. */
  set: readonly string[];
  /** `d:<key>` fields to delete. */
  deleted: readonly string[];
}
/** `arg(1..8)` of `patch`, then the set pairs, then the deletions. */
export const patchArgv = (a: PatchArgs): Arg[] => [
  a.nowMs,
  a.expMs,
  a.updatedMs,
  a.schemaVersion,
  a.ttlMs,
  a.set.length,
  a.maxBytes,
  a.notAfterMs ?? "",
  ...a.set,
  ...a.deleted,
];

/**
 * arg: now, ttl, notAfter ('' for none), then the whole record's field/value pairs (its rev is
 * replaced by old rev + 1). Answers { -2, updated } when it arrived late (see `late`).
 */
const replace = `${prelude}${LUA_SLICES}
local m = read(KEYS[1])
if not live(m, tonumber(arg(1))) then return false end
if late(m, arg(3)) then return { -2, tonumber(m[5]) } end
local rev = tonumber(m[1]) + 1
redis.call('DEL', KEYS[1])
hsetFrom(KEYS[1], nIdx + 5, #ARGV)
redis.call('HSET', KEYS[1], 'rev', rev)
expireIn(KEYS[1], tonumber(arg(2)))
return answer(rev, m[2], m)
`;

/** The replace script's arguments (after the index head). */
export interface ReplaceArgs {
  nowMs: number;
  ttlMs: number;
  notAfterMs: number | undefined;
  /** The whole record's hash field/value pairs. */
  fields: readonly Arg[];
}
/** `arg(1..3)` of `replace`, then the pairs from `arg(4)` (ARGV[nIdx + 5]). */
export const replaceArgv = (a: ReplaceArgs): Arg[] => [a.nowMs, a.ttlMs, a.notAfterMs ?? "", ...a.fields];

/** arg: now, exp, ttl. Moves only the expiry: the data and the rev stay as they are. */
const touch = `${prelude}
local m = read(KEYS[1])
if not live(m, tonumber(arg(1))) then return false end
redis.call('HSET', KEYS[1], 'exp', arg(2))
expireIn(KEYS[1], tonumber(arg(3)))
return answer(tonumber(m[1]), m[2], m)
`;

/** The touch script's arguments (after the index head). */
export interface TouchArgs {
  nowMs: number;
  expMs: number;
  ttlMs: number;
}
/** `arg(1..3)` of `touch`. */
export const touchArgv = (a: TouchArgs): Arg[] => [a.nowMs, a.expMs, a.ttlMs];

/**
 * Step one of a rotation, on the old key. arg: now, successor id ('' for no grace), graceUntil,
 * grace ttl. Without grace the record is deleted; with it, it becomes a shadow: data removed,
 * `succ` pointing at the new id, alive until graceUntil.
 */
const retire = `${prelude}
local m = read(KEYS[1])
if not live(m, tonumber(arg(1))) then return false end
local rev = tonumber(m[1])
if arg(2) == '' then
  redis.call('DEL', KEYS[1])
else
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, ${DATA_FIELD_PREFIX.length}) == '${DATA_FIELD_PREFIX}' then redis.call('HDEL', KEYS[1], field) end
  end
  redis.call('HSET', KEYS[1], 'succ', arg(2), 'exp', arg(3), 'bytes', 0)
  rev = redis.call('HINCRBY', KEYS[1], 'rev', 1)
  expireIn(KEYS[1], tonumber(arg(4)))
end
return answer(rev, m[2], m)
`;

/** The retire script's arguments (after the index head). */
export interface RetireArgs {
  nowMs: number;
  /** The shadow to leave, or null to delete the old record. */
  grace: { successorId: string; untilMs: number; ttlMs: number } | null;
}
/** `arg(1..4)` of `retire`. */
export const retireArgv = (a: RetireArgs): Arg[] =>
  a.grace === null ? [a.nowMs, "", "", 0] : [a.nowMs, a.grace.successorId, a.grace.untilMs, a.grace.ttlMs];

/**
 * Deletes the key, whatever its type (B12: the core deletes what `get` reported corrupt); answers
 * { keys deleted, false, the indexed entries it held }.
 */
const remove = `${prelude}
local m = read(KEYS[1])
return answer(redis.call('DEL', KEYS[1]), false, m)
`;

/** ARGV: now. The lazy delete of `get`: only if the record is still expired (a refresh may have won). */
const dropExpired = `
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp or (tonumber(exp) and tonumber(exp) > tonumber(ARGV[1])) then return 0 end
return redis.call('DEL', KEYS[1])
`;

/** ARGV of `dropExpired` (no index head). */
export const dropExpiredArgv = (a: { nowMs: number }): Arg[] => [a.nowMs];

/**
 * arg: n, then n pairs of (hash field, JSON value). Deletes the record only if every field's
 * entry holds that value, so a session whose indexed field changed meanwhile survives. Answers
 * { 0 } when there is no record, { 2 } when it does not match, else { 1, exp, entries }.
 */
const removeMatching = `${prelude}
local m = read(KEYS[1])
if not m[1] then return { 0 } end
for i = 1, tonumber(arg(1)) do
  local ok, entry = pcall(cjson.decode, redis.call('HGET', KEYS[1], arg(2 * i)) or 'null')
  if not ok or type(entry) ~= 'table' or entry.json ~= cjson.decode(arg(2 * i + 1)) then return { 2 } end
end
redis.call('DEL', KEYS[1])
return answer(1, m[2], m)
`;

/** The removeMatching script's arguments (after the index head). */
export interface RemoveMatchingArgs {
  /** Each wanted `d:<key>` hash field with the JSON text of its wanted value. */
  where: readonly (readonly [field: string, json: string])[];
}
/** `arg(1)` = n, then the n pairs from `arg(2)`. */
export const removeMatchingArgv = (a: RemoveMatchingArgs): Arg[] => [a.where.length, ...a.where.flat()];

/**
 * On an index set. ARGV: session id, ttl. Adds the id and makes the set live at least ttl,
 * never shortening it (a set without a TTL gets one), so it outlives its longest member.
 */
const indexAdd = `
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
`;

/** ARGV of `indexAdd` (no index head). */
export const indexAddArgv = (a: { id: string; ttlMs: number }): Arg[] => [a.id, a.ttlMs];

/** `null` when the record was not live; else the rev, the exp before, then the indexed entries. */
export type RecordReply = [number, string | null, ...(string | null)[]] | null;

/** A write that arrived after its deadline, past a newer write: [-2, that write's updated]. */
export type LateReply = [-2, number];

/** What the patch script answers: a `RecordReply`, [-1, the data's size] when it was too large, or a `LateReply`. */
export type PatchReply = RecordReply | [-1, number] | LateReply;

/** The scripts as ioredis registers them: positional ARGV, built only by the `*Argv` functions above. */
interface RawStoreCommands {
  tesseraStoreCreate(key: string, ...argv: Arg[]): Promise<0 | 1>;
  tesseraStorePatch(key: string, ...argv: Arg[]): Promise<PatchReply>;
  tesseraStoreReplace(key: string, ...argv: Arg[]): Promise<RecordReply | LateReply>;
  tesseraStoreTouch(key: string, ...argv: Arg[]): Promise<RecordReply>;
  tesseraStoreRetire(key: string, ...argv: Arg[]): Promise<RecordReply>;
  tesseraStoreRemove(key: string, ...argv: Arg[]): Promise<[number, null, ...(string | null)[]]>;
  tesseraStoreDropExpired(key: string, ...argv: Arg[]): Promise<number>;
  tesseraStoreRemoveMatching(key: string, ...argv: Arg[]): Promise<[0 | 2] | [1, string | null, ...(string | null)[]]>;
  tesseraStoreIndexAdd(key: string, ...argv: Arg[]): Promise<number>;
}

/** The store scripts, each taking its named arguments; the index head is added where a script reads it. */
export interface StoreCommands {
  create(key: string, args: CreateArgs): Promise<0 | 1>;
  patch(key: string, args: PatchArgs): Promise<PatchReply>;
  replace(key: string, args: ReplaceArgs): Promise<RecordReply | LateReply>;
  touch(key: string, args: TouchArgs): Promise<RecordReply>;
  retire(key: string, args: RetireArgs): Promise<RecordReply>;
  remove(key: string): Promise<[number, null, ...(string | null)[]]>;
  dropExpired(key: string, args: { nowMs: number }): Promise<number>;
  removeMatching(key: string, args: RemoveMatchingArgs): Promise<[0 | 2] | [1, string | null, ...(string | null)[]]>;
  indexAdd(key: string, args: { id: string; ttlMs: number }): Promise<number>;
}

const scripts = {
  tesseraStoreCreate: create,
  tesseraStorePatch: patch,
  tesseraStoreReplace: replace,
  tesseraStoreTouch: touch,
  tesseraStoreRetire: retire,
  tesseraStoreRemove: remove,
  tesseraStoreDropExpired: dropExpired,
  tesseraStoreRemoveMatching: removeMatching,
  tesseraStoreIndexAdd: indexAdd,
} as const satisfies Record<keyof RawStoreCommands, string>;

/**
 * The store scripts, registered on `redis` (see `defineScripts`). `indexFields` are the hash
 * fields (`d:userId`, …) of the indexed session keys: the head (`ARGV[1]` = n, then the n fields)
 * of every script that reads them.
 */
export function defineStoreCommands(redis: Redis | Cluster, indexFields: readonly string[]): StoreCommands {
  const raw = defineScripts<RawStoreCommands>(redis, scripts);
  const head: Arg[] = [indexFields.length, ...indexFields];
  return {
    create: (key, args) => raw.tesseraStoreCreate(key, ...createArgv(args)),
    patch: (key, args) => raw.tesseraStorePatch(key, ...head, ...patchArgv(args)),
    replace: (key, args) => raw.tesseraStoreReplace(key, ...head, ...replaceArgv(args)),
    touch: (key, args) => raw.tesseraStoreTouch(key, ...head, ...touchArgv(args)),
    retire: (key, args) => raw.tesseraStoreRetire(key, ...head, ...retireArgv(args)),
    remove: (key) => raw.tesseraStoreRemove(key, ...head),
    dropExpired: (key, args) => raw.tesseraStoreDropExpired(key, ...dropExpiredArgv(args)),
    removeMatching: (key, args) => raw.tesseraStoreRemoveMatching(key, ...head, ...removeMatchingArgv(args)),
    indexAdd: (key, args) => raw.tesseraStoreIndexAdd(key, ...indexAddArgv(args)),
  };
}
