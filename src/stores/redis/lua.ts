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
 * Registers single-key scripts on `redis` and returns the client typed with them as methods.
 * ioredis sends EVALSHA and falls back to EVAL once per connection (NOSCRIPT), so each call is
 * one command. Defining them again on the same client (a second store or cache) is harmless:
 * the Lua is the same.
 */
export function defineScripts<C>(redis: Redis | Cluster, scripts: Record<keyof C, string>): C {
  for (const [name, lua] of Object.entries<string>(scripts)) redis.defineCommand(name, { lua, numberOfKeys: 1 });
  return redis as unknown as C;
}
