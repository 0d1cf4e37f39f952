import { Redis } from "ioredis";
import { create as tr } from "./contenders/tessera-redis.js";
const c = await tr({ databaseUrl: "", redisUrl: "redis://127.0.0.1:6379", redisPrefix: `tmppeek:`, poolSize: 16 });
await c.seed(2); await c.modify(1);
const r = new Redis(); const keys = await r.keys("tmppeek:*"); console.log(keys);
for (const k of keys) console.log(await r.type(k), k.startsWith("tmppeek:s") ? await r.hgetall(k) : "");
await r.del(...keys); r.disconnect(); await c.close();
