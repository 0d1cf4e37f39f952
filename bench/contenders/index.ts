import type { Backend, ContenderFactory } from "../workload.js";
import { create as connectPgSimple } from "./connect-pg-simple.js";
import { create as connectRedis } from "./connect-redis.js";
import { create as ironSession } from "./iron-session.js";
import { create as postgresFloor } from "./postgres-floor.js";
import { create as postgresGuaranteeFloor } from "./postgres-guarantee-floor.js";
import { create as redisFloor } from "./redis-floor.js";
import { create as redisGuaranteeFloor } from "./redis-guarantee-floor.js";
import { create as tesseraCookie } from "./tessera-cookie.js";
import { create as tesseraDrizzle } from "./tessera-drizzle.js";
import { create as tesseraDrizzleCache } from "./tessera-drizzle-cache.js";
import { create as tesseraRedis } from "./tessera-redis.js";
import { create as tesseraRedisCookieCache } from "./tessera-redis-cookie-cache.js";

/** Every store-level contender by backend, floors first (ratios are taken against them). */
export const FACTORIES: { backend: Backend; create: ContenderFactory }[] = [
  { backend: "redis", create: redisFloor },
  { backend: "redis", create: tesseraRedis },
  { backend: "redis", create: tesseraRedisCookieCache },
  { backend: "redis", create: connectRedis },
  { backend: "redis", create: redisGuaranteeFloor },
  { backend: "postgres", create: postgresFloor },
  { backend: "postgres", create: tesseraDrizzle },
  { backend: "postgres", create: tesseraDrizzleCache },
  { backend: "postgres", create: connectPgSimple },
  { backend: "postgres", create: postgresGuaranteeFloor },
  { backend: "cookie", create: ironSession },
  { backend: "cookie", create: tesseraCookie },
];
