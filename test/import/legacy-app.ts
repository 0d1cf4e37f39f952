/**
 * The app before the move: Express with express-session and a real connect-redis or
 * connect-pg-simple store, whose `/login` writes what a typical app keeps (`user`, `cart`).
 * Sessions are created by HTTP logins, as they would be in production.
 */
import connectPgSimple from "connect-pg-simple";
import { RedisStore } from "connect-redis";
import express, { type Request, type RequestHandler } from "express";
import expressSessionModule, { type Store } from "express-session";
import type { Redis } from "ioredis";
import type pg from "pg";
import { listenNode } from "../helpers/listen.js";

// bench/peer-types.d.ts types only the store side of express-session (its full types would
// augment Express's Request globally): the middleware is typed here, as far as this app uses it.
const session = expressSessionModule as unknown as (options: {
  store: Store;
  secret: string;
  resave: boolean;
  saveUninitialized: boolean;
  cookie: { maxAge: number };
}) => RequestHandler;
const data = (req: Request) => (req as unknown as { session: Record<string, unknown> }).session;

export const LEGACY_SECRET = "legacy secret of the old app";

/** connect-redis on `redis` under `prefix`. */
export const redisLegacyStore = (redis: Redis, prefix: string): Store =>
  new RedisStore({ client: redis, prefix }) as unknown as Store;

/** connect-pg-simple on `pool`, in `table` (created by connect-pg-simple itself). */
export function pgLegacyStore(pool: pg.Pool, table: string): Store {
  const PgStore = connectPgSimple(expressSessionModule);
  return new PgStore({ pool, tableName: table, createTableIfMissing: true, pruneSessionInterval: false });
}

/** The legacy app on a free port; `login(id)` logs in over HTTP and returns the `connect.sid` cookie pair. */
export async function legacyApp(store: Store) {
  const app = express();
  app.use(session({ store, secret: LEGACY_SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: 3_600_000 } }));
  app.post("/login", (req, res) => {
    const id = String(req.query.user);
    // `?numeric` logs in with a number as id: valid for the old app, not for the new schema.
    data(req).user = { id: req.query.numeric === undefined ? id : 42, name: `User ${id}` };
    data(req).cart = ["sku-1", `sku-${id}`];
    res.json({ ok: true });
  });
  app.get("/me", (req, res) => res.json({ user: data(req).user ?? null }));
  const server = await listenNode(app);
  return {
    ...server,
    async login(user: string, query = ""): Promise<string> {
      const response = await fetch(`${server.url}/login?user=${user}${query}`, { method: "POST" });
      // express-session sends the body first and ends the response once the store saved it.
      const body = await response.text();
      if (response.status !== 200) throw new Error(`login: ${response.status} ${body}`);
      const cookie = response.headers.getSetCookie().find((value) => value.startsWith("connect.sid="));
      if (cookie === undefined) throw new Error("the legacy app set no connect.sid");
      return cookie.split(";")[0] as string;
    },
  };
}
