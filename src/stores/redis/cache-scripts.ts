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

/** ARGV: markTtlMs. Replaces whatever the key holds by a tombstone. */
const kill = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'dead', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`;

type Arg = string | number;

/** The cache scripts as methods of the client they were defined on. */
export interface CacheCommands {
  tesseraCachePut(key: string, rev: number, ttlMs: number, markTtlMs: number, ...fields: string[]): Promise<number>;
  tesseraCachePatch(key: string, ...args: Arg[]): Promise<number>;
  tesseraCacheTouch(key: string, expMs: number, ttlMs: number, markTtlMs: number): Promise<number>;
  tesseraCacheKill(key: string, markTtlMs: number): Promise<number>;
}

const scripts = {
  tesseraCachePut: put,
  tesseraCachePatch: patch,
  tesseraCacheTouch: touch,
  tesseraCacheKill: kill,
} as const satisfies Record<keyof CacheCommands, string>;

/** The cache scripts, registered on `redis` (see `defineScripts`). */
export function defineCacheCommands(redis: Redis | Cluster): CacheCommands {
  return defineScripts<CacheCommands>(redis, scripts);
}
