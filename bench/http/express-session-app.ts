import { RedisStore } from "connect-redis";
import express, { type Request, type RequestHandler } from "express";
import expressSessionModule from "express-session";
import { Redis } from "ioredis";
import { makePayload, TTL_SECONDS } from "../workload.js";
import { type AppFactory, seedIndex } from "./apps.js";

// `bench/peer-types.d.ts` types only the store side of express-session (its full types would
// augment Express's Request globally); the middleware is typed here, as far as this app uses it.
interface ExpressSessionOptions {
  store: RedisStore;
  secret: string;
  resave: boolean;
  saveUninitialized: boolean;
}
const session = expressSessionModule as unknown as (options: ExpressSessionOptions) => RequestHandler;

/** express-session's `req.session`: the stored JSON, plus its own methods. */
const data = (req: Request) => (req as unknown as { session: Record<string, unknown> }).session;

/**
 * The baseline: express-session 1.19 + connect-redis 8 on ioredis, created as
 * `bench/contenders/connect-redis.ts` creates it, set up as connect-redis's README sets it
 * (`resave: false, saveUninitialized: false`), with the default cookie (no `maxAge`, not rolling):
 * a read is GET + EXPIRE (the touch), a modify GET + SET.
 */
export const create: AppFactory = async ({ redisUrl, redisPrefix }) => {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const store = new RedisStore({ client: redis, prefix: `${redisPrefix}sess:`, ttl: TTL_SECONDS });
  const app = express();
  app.use(session({ store, secret: "tessera-bench-http-secret", resave: false, saveUninitialized: false }));
  app.get("/read", (req, res) => {
    res.json({ theme: data(req).theme });
  });
  app.post("/modify", (req, res) => {
    data(req).lastSeen = new Date();
    res.json({ ok: true });
  });
  app.post("/seed/:i", (req, res) => {
    const i = seedIndex(req.params.i);
    if (i === null) return void res.sendStatus(400);
    Object.assign(data(req), makePayload(i));
    res.json({ ok: true });
  });
  return {
    app,
    async close() {
      redis.disconnect();
    },
  };
};
