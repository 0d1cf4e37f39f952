import type { Cluster, Redis } from "ioredis";
import { defineScripts, LUA_HMGET_ANY, LUA_SLICES } from "./lua.js";

/**
 * The Lua behind `redisCache`: each script touches one key (`KEYS[1]`, the cache hash of one
 * session), so it runs atomically on that key's node, standalone or in a Cluster. The names
 * start with `tesseraCache` so they cannot clash with `redisStore`'s scripts on a shared client.
 *
 * A cache hash holds one of three things:
 * - a copy: the record's fields as `hash-codec.ts` lays them out (`rev`, `exp`, `d:<key>`, …);
 * - a floor mark `{ floor = n }`: no copy below rev `n` may be stored (left by a patch that had
 *   no copy at `rev - 1` to apply to, so an older row read before that write cannot land);
 * - a tombstone `{ dead = 1 }`: nothing may be stored (left by an invalidation, so a fill that
 *   read the row before it was deleted cannot bring the session back).
 * Marks live for the cache's ttl; copies for min(the session's remaining life, ttl).
 */

type Arg = string | number;

// leaveFloor replaces whatever the key holds by a floor mark (see above), never lowering it.
// hmgetAny reads a key of another type than a hash (B12: junk, neither a copy nor a mark) as
// absent, so put and patch replace it and touch leaves it to get, which reports it corrupt.
const helpers = `${LUA_SLICES}${LUA_HMGET_ANY}
local function leaveFloor(key, floor, oldFloor, markTtl)
  if oldFloor and tonumber(oldFloor) > floor then floor = tonumber(oldFloor) end
  redis.call('DEL', key)
  redis.call('HSET', key, 'floor', floor)
  redis.call('PEXPIRE', key, markTtl)
end
`;

/** ARGV: rev, ttlMs, markTtlMs, then the record's field/value pairs. Returns 1 when stored. */
const put = `${helpers}
local key = KEYS[1]
local rev = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local held = hmgetAny(key, 'dead', 'rev', 'floor')
if held[1] then return 0 end
if held[2] and tonumber(held[2]) >= rev then return 0 end
if held[3] and tonumber(held[3]) > rev then return 0 end
if ttl <= 0 then
  leaveFloor(key, rev, held[3], ARGV[3])
  return 0
end
redis.call('DEL', key)
hsetFrom(key, 4, #ARGV)
redis.call('PEXPIRE', key, ttl)
return 1
`;

/** The put script's arguments. */
export interface CachePutArgs {
  rev: number;
  /** The copy's life (≤ 0 leaves a floor mark instead). */
  ttlMs: number;
  markTtlMs: number;
  /** The record's hash field/value pairs (`toHashFields`). */
  fields: readonly string[];
}
/** ARGV of `put`, in the order its Lua reads them (ARGV[1..3], then the pairs from 4). */
export const putArgv = (a: CachePutArgs): Arg[] => [a.rev, a.ttlMs, a.markTtlMs, ...a.fields];

/**
 * ARGV: rev, ttlMs, markTtlMs, n (count of set values), exp, updated, ver, then n `d:<key>`/JSON
 * values to set, then the `d:<key>` fields to delete. Returns 1 when applied to a copy at rev - 1.
 */
const patch = `${helpers}
local key = KEYS[1]
local rev = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local held = hmgetAny(key, 'dead', 'rev', 'floor')
if held[1] then return 0 end
local current = tonumber(held[2])
if current and current >= rev then return 0 end
if current == rev - 1 and ttl > 0 then
  local setEnd = 7 + tonumber(ARGV[4])
  hdelFrom(key, setEnd + 1, #ARGV)
  -- Entries and metadata in one HSET (each redis.call costs the server a few µs); slices only
  -- for a patch too long for one unpack.
  if setEnd - 8 < 990 then
    redis.call('HSET', key, 'exp', ARGV[5], 'updated', ARGV[6], 'ver', ARGV[7], 'rev', ARGV[1], unpack(ARGV, 8, setEnd))
  else
    hsetFrom(key, 8, setEnd)
    redis.call('HSET', key, 'exp', ARGV[5], 'updated', ARGV[6], 'ver', ARGV[7], 'rev', ARGV[1])
  end
  redis.call('PEXPIRE', key, ttl)
  return 1
end
leaveFloor(key, rev, held[3], ARGV[3])
return 0
`;

/** The patch script's arguments. */
export interface CachePatchArgs {
  /** The rev the patch makes: it applies only to a copy at rev - 1. */
  rev: number;
  ttlMs: number;
  markTtlMs: number;
  expMs: number;
  updatedMs: number;
  schemaVersion: number;
  /** `d:<key>`/JSON pairs to set (`dataFields`). */
  set: readonly string[];
  /** `d:<key>` fields to delete. */
  deleted: readonly string[];
}
/** ARGV of `patch`, in the order its Lua reads them (ARGV[1..7], the set pairs from 8, then the deletions). */
export const patchArgv = (a: CachePatchArgs): Arg[] => [
  a.rev,
  a.ttlMs,
  a.markTtlMs,
  a.set.length,
  a.expMs,
  a.updatedMs,
  a.schemaVersion,
  ...a.set,
  ...a.deleted,
];

/** ARGV: expMs, ttlMs, markTtlMs. Returns 1 when a copy's expiry moved. */
const touch = `${helpers}
local key = KEYS[1]
local held = hmgetAny(key, 'rev', 'floor')
if not held[1] then return 0 end
if tonumber(ARGV[2]) <= 0 then
  leaveFloor(key, tonumber(held[1]), held[2], ARGV[3])
  return 0
end
redis.call('HSET', key, 'exp', ARGV[1])
redis.call('PEXPIRE', key, ARGV[2])
return 1
`;

/** The touch script's arguments. */
export interface CacheTouchArgs {
  expMs: number;
  ttlMs: number;
  markTtlMs: number;
}
/** ARGV of `touch`, in the order its Lua reads them. */
export const touchArgv = (a: CacheTouchArgs): Arg[] => [a.expMs, a.ttlMs, a.markTtlMs];

/** ARGV: markTtlMs. Replaces whatever the key holds by a tombstone. */
const kill = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'dead', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

/** The kill script's arguments. */
export interface CacheKillArgs {
  markTtlMs: number;
}
/** ARGV of `kill`. */
export const killArgv = (a: CacheKillArgs): Arg[] => [a.markTtlMs];

/** The scripts as ioredis registers them: positional ARGV, built only by the `*Argv` functions above. */
interface RawCacheCommands {
  tesseraCachePut(key: string, ...argv: Arg[]): Promise<number>;
  tesseraCachePatch(key: string, ...argv: Arg[]): Promise<number>;
  tesseraCacheTouch(key: string, ...argv: Arg[]): Promise<number>;
  tesseraCacheKill(key: string, ...argv: Arg[]): Promise<number>;
}

/** The cache scripts, each taking its named arguments; every answer is 1 when it wrote a copy. */
export interface CacheCommands {
  put(key: string, args: CachePutArgs): Promise<number>;
  patch(key: string, args: CachePatchArgs): Promise<number>;
  touch(key: string, args: CacheTouchArgs): Promise<number>;
  kill(key: string, args: CacheKillArgs): Promise<number>;
}

const scripts = {
  tesseraCachePut: put,
  tesseraCachePatch: patch,
  tesseraCacheTouch: touch,
  tesseraCacheKill: kill,
} as const satisfies Record<keyof RawCacheCommands, string>;

/** The cache scripts, registered on `redis` (see `defineScripts`). */
export function defineCacheCommands(redis: Redis | Cluster): CacheCommands {
  const raw = defineScripts<RawCacheCommands>(redis, scripts);
  return {
    put: (key, args) => raw.tesseraCachePut(key, ...putArgv(args)),
    patch: (key, args) => raw.tesseraCachePatch(key, ...patchArgv(args)),
    touch: (key, args) => raw.tesseraCacheTouch(key, ...touchArgv(args)),
    kill: (key, args) => raw.tesseraCacheKill(key, ...killArgv(args)),
  };
}
