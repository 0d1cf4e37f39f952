/**
 * The shop's session manager and its database.
 *
 * - No `DATABASE_URL`: the embedded default, PGlite, in `.tessera-demo/shop/` under the
 *   working directory, created on first use (`SHOP_PGLITE` moves it, `SHOP_PGLITE=memory`
 *   keeps it in memory; see `embedded-db.ts`).
 * - `DATABASE_URL` set: that PostgreSQL, through postgres.js.
 * - `REDIS_URL` set as well: a Redis cache in front of the database (Django's `cached_db`).
 *
 * The table is the shop's own (`db/schema.ts`: the package's columns plus an indexed `user_id`
 * generated from the session data, so "Your sessions" is an index lookup). drizzle-kit
 * generated its migrations into `drizzle/`; they are applied here on the first request.
 */
import { defineSession } from "tesserae";
import { drizzleStore, migrate } from "tesserae/drizzle";
import { redisCache } from "tesserae/redis";
import { sessions as table } from "../db/schema";
import { embeddedLocation, openEmbedded } from "./embedded-db";
import { sessionSchema } from "./schema";

/**
 * The shop's drizzle-kit migrations (`npm run db:generate` writes them), read from disk when the
 * database is first opened, relative to the working directory: the app runs from its own folder
 * (`npm start`, which `npm run demo:start` runs there), like any app whose migrations sit beside
 * its package.json.
 */
const migrationsFolder = "drizzle";

/** The database (migrated) and the optional Redis cache: opened once per process. */
async function connect() {
  const url = process.env.DATABASE_URL;
  let db: Parameters<typeof drizzleStore>[0]["db"];
  let close: () => Promise<void>;
  if (url !== undefined && url !== "") {
    const { default: postgres } = await import("postgres");
    const { drizzle } = await import("drizzle-orm/postgres-js");
    const client = postgres(url, { max: 5, onnotice: () => {}, connection: { statement_timeout: 5000 } });
    db = drizzle({ client });
    close = () => client.end();
  } else {
    const { drizzle } = await import("drizzle-orm/pglite");
    const client = await openEmbedded(embeddedLocation());
    db = drizzle({ client });
    close = () => client.close();
  }
  try {
    // The shop's own migrations, recorded in drizzle."__drizzle_migrations" as `drizzle-kit
    // migrate` would; not the package's `migrate(db)`, whose default table this one replaces.
    await migrate(db, { migrationsFolder });
  } catch (error) {
    // The next request tries again: it must not find this PGlite still open on the same
    // folder (two instances on one folder corrupt it), nor a stray pool.
    await close().catch(() => {});
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
  return { db, cache };
}

function createSessions({ db, cache }: Connections) {
  return defineSession({
    schema: sessionSchema,
    store: drizzleStore({ db, table }),
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
// would corrupt it; two in memory would be two databases); the manager is built per bundle, so
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
