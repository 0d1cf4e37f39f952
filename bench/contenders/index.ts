import type { Backend, ContenderFactory } from "../workload.js";
import * as betterSqlite3Floor from "./better-sqlite3-floor.js";
import * as connectPgSimple from "./connect-pg-simple.js";
import * as connectRedis from "./connect-redis.js";
import * as ironSession from "./iron-session.js";
import * as libsqlFloor from "./libsql-floor.js";
import * as mysqlFloor from "./mysql-floor.js";
import * as postgresFloor from "./postgres-floor.js";
import * as postgresGuaranteeFloor from "./postgres-guarantee-floor.js";
import * as redisFloor from "./redis-floor.js";
import * as redisGuaranteeFloor from "./redis-guarantee-floor.js";
import * as tesseraBetterSqlite3 from "./tessera-better-sqlite3.js";
import * as tesseraCookie from "./tessera-cookie.js";
import * as tesseraDrizzle from "./tessera-drizzle.js";
import * as tesseraDrizzleCache from "./tessera-drizzle-cache.js";
import * as tesseraLibsql from "./tessera-libsql.js";
import * as tesseraMysql from "./tessera-mysql.js";
import * as tesseraRedis from "./tessera-redis.js";
import * as tesseraRedisCookieCache from "./tessera-redis-cookie-cache.js";

/** A contender before it is created: the run picks by name (`--only`) without opening it. */
export interface Factory {
  backend: Backend;
  name: string;
  /** Its line's raw floor: always run, the line's ratios are taken against it. */
  floor: boolean;
  create: ContenderFactory;
}

const contender = (backend: Backend, module: { NAME: string; create: ContenderFactory }, floor = false): Factory => ({
  backend,
  name: module.NAME,
  floor,
  create: module.create,
});

/** Every store-level contender by backend, floors first (ratios are taken against them). */
export const FACTORIES: Factory[] = [
  contender("redis", redisFloor, true),
  contender("redis", tesseraRedis),
  contender("redis", tesseraRedisCookieCache),
  contender("redis", connectRedis),
  contender("redis", redisGuaranteeFloor),
  contender("postgres", postgresFloor, true),
  contender("postgres", tesseraDrizzle),
  contender("postgres", tesseraDrizzleCache),
  contender("postgres", connectPgSimple),
  contender("postgres", postgresGuaranteeFloor),
  contender("cookie", ironSession, true),
  contender("cookie", tesseraCookie),
  contender("better-sqlite3", betterSqlite3Floor, true),
  contender("better-sqlite3", tesseraBetterSqlite3),
  contender("libsql", libsqlFloor, true),
  contender("libsql", tesseraLibsql),
  contender("mysql", mysqlFloor, true),
  contender("mysql", tesseraMysql),
];
