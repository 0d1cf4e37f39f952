/**
 * The shop's session manager and its database.
 *
 * `DATABASE_URL` picks the database (`database.ts`): unset, the embedded default, PGlite in
 * `.tessera-demo/shop/` under the working directory (`SHOP_PGLITE` moves it, `SHOP_PGLITE=memory`
 * keeps it in memory; see `embedded-db.ts`); `postgres://…` PostgreSQL through postgres.js;
 * `file:shop.db` SQLite through @libsql/client; `mysql://…` MySQL or MariaDB through mysql2.
 * `REDIS_URL` set as well: a Redis cache in front of the database (Django's `cached_db`).
 *
 * The table is the shop's own, one per dialect (`db/postgres.ts`, `db/sqlite.ts`, `db/mysql.ts`:
 * the package's columns plus an indexed `user_id` generated from the session data, so "Your
 * sessions" is an index lookup). drizzle-kit generated each one's migrations into
 * `drizzle/<dialect>/`; the dialect's are applied here on the first request.
 */
import { defineSession } from "tesserae";
import { drizzleStore, migrate } from "tesserae/drizzle";
import { redisCache } from "tesserae/redis";
import { sessions as mysqlTable } from "../db/mysql";
import { sessions as postgresTable } from "../db/postgres";
import { sessions as sqliteTable } from "../db/sqlite";
import { migrationsFolderOf, shopDatabase } from "./database";
import { type OpenDatabase, openDatabase } from "./open-database";
import { sessionSchema } from "./schema";

/** The database (migrated) and the optional Redis cache: opened once per process. */
async function connect() {
  const database = shopDatabase();
  const opened = await openDatabase(database);
  try {
    // The shop's own migrations for this dialect, recorded in drizzle-kit's
    // `__drizzle_migrations` as `drizzle-kit migrate` would; not the package's default table.
    await migrate(opened.db, { migrationsFolder: migrationsFolderOf(database) });
  } catch (error) {
    // The next request tries again: it must not find this PGlite still open on the same
    // folder (two instances on one folder corrupt it), nor a stray pool.
    await opened.close().catch(() => {});
    throw error;
  }

  let cache: ReturnType<typeof redisCache> | undefined;
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl !== undefined && redisUrl !== "") {
    const ioredis = await import("ioredis");
    // ioredis is CommonJS whose module.exports is the class itself: bundled (as in proxy.ts),
    // the named export can be missing where the default is there.
    const Redis = typeof ioredis.Redis === "function" ? ioredis.Redis : (ioredis.default as unknown as typeof ioredis.Redis);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    // Redis down is served from the database (the cache reports `cache-down`); never crash on it.
    redis.on("error", () => {});
    cache = redisCache({ redis, prefix: process.env.SHOP_REDIS_PREFIX ?? "tessera-shop:" });
  }
  return { database: opened, cache };
}

/** The store over the shop's table of the database's dialect: the one place the store is built. */
function storeOf(database: OpenDatabase) {
  // One call per dialect because `drizzleStore`'s overloads pair each dialect's database with its
  // own table type; the store is the same on all three.
  switch (database.dialect) {
    case "postgres":
      return drizzleStore({ db: database.db, table: postgresTable });
    case "sqlite":
      return drizzleStore({ db: database.db, table: sqliteTable });
    case "mysql":
      return drizzleStore({ db: database.db, table: mysqlTable });
  }
}

function createSessions({ database, cache }: Connections) {
  return defineSession({
    schema: sessionSchema,
    store: storeOf(database),
    ...(cache === undefined ? {} : { cache }),
    cookie: {
      name: "shop_sid",
      // Secure unless the shop is served over plain HTTP: `npm run demo` and the e2e test run
      // on http://127.0.0.1 and set SHOP_PLAIN_HTTP=1; `next dev` is plain HTTP too.
      secure: process.env.NODE_ENV === "production" && process.env.SHOP_PLAIN_HTTP !== "1",
      httpOnly: true,
      sameSite: "lax",
      path: "/",
    },
    maxAge: "14d",
    rolling: true,
    touchAfter: "5m",
    absoluteMaxAge: "30d",
    // Off (the default), said out loud: on login the old token dies at once.
    rotationGrace: 0,
  });
}

type Connections = Awaited<ReturnType<typeof connect>>;
export type ShopSessions = ReturnType<typeof createSessions>;

// Next compiles each route and page into a bundle of its own, each with its own copy of every
// module. The connections are shared through globalThis (two PGlite instances on one folder
// would corrupt it; two in memory would be two databases; two pools would double the
// connections); the manager is built per bundle, so
// that Tessera's error classes match the `instanceof` checks of the code beside it.
const holder = globalThis as typeof globalThis & { __tesseraShop?: Promise<Connections> };

/** The database and cache; opened (and migrated) on first use, never at build time. */
export function connections(): Promise<Connections> {
  holder.__tesseraShop ??= connect().catch((error: unknown) => {
    holder.__tesseraShop = undefined;
    throw error;
  });
  return holder.__tesseraShop;
}

let sessions: Promise<ShopSessions> | undefined;

/** The shop's session manager. */
export function getSessions(): Promise<ShopSessions> {
  sessions ??= connections()
    .then(createSessions)
    .catch((error: unknown) => {
      sessions = undefined;
      throw error;
    });
  return sessions;
}
