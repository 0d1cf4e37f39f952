export { type RedisCacheOptions, redisCache } from "./redis-cache.js";
export { type RedisStoreOptions, redisStore } from "./redis-store.js";
