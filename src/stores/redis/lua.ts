import type { Cluster, Redis } from "ioredis";

/**
 * HSET/HDEL over `ARGV[first..last]` in slices of 1,000 values: Lua's `unpack` has a stack limit
 * of a few thousand. Shared by the store's and the cache's scripts.
 */
export const LUA_SLICES = `
local function hsetFrom(key, first, last)
  for i = first, last, 1000 do redis.call('HSET', key, unpack(ARGV, i, math.min(i + 999, last))) end
end
local function hdelFrom(key, first, last)
  for i = first, last, 1000 do redis.call('HDEL', key, unpack(ARGV, i, math.min(i + 999, last))) end
end
`;

/**
 * `hmgetAny(key, fields…)`: HMGET, with a key of another type than a hash (WRONGTYPE: a string,
 * list, set, zset or stream, which no Tessera write makes) read as absent, so a script meeting one
 * never fails and the key stays removable (B12). Any other error is raised. Shared by the store's
 * and the cache's scripts.
 */
export const LUA_HMGET_ANY = `
local function hmgetAny(key, ...)
  local m = redis.pcall('HMGET', key, ...)
  if not m.err then return m end
  if string.sub(m.err, 1, 9) ~= 'WRONGTYPE' then return error(m) end
  local absent = {}
  for i = 1, select('#', ...) do absent[i] = false end
  return absent
end
`;

/**
 * Registers single-key scripts on `redis` and returns the client typed with them as methods.
 * ioredis sends EVALSHA and falls back to EVAL once per connection (NOSCRIPT), so each call is
 * one command. Defining them again on the same client (a second store or cache) is harmless:
 * the Lua is the same.
 */
export function defineScripts<C>(redis: Redis | Cluster, scripts: Record<keyof C, string>): C {
  for (const [name, lua] of Object.entries<string>(scripts)) redis.defineCommand(name, { lua, numberOfKeys: 1 });
  return redis as unknown as C;
}
