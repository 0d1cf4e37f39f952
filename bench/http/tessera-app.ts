import express from "express";
import { Redis } from "ioredis";
import { define } from "../contenders/tessera-common.js";
import { expressSession, redisStore, sessionHandler } from "../lib.js";
import { makePayload } from "../workload.js";
import { type AppFactory, seedIndex } from "./apps.js";

/**
 * Tessera's Express adapter on `redisStore`, default options (rolling, `touchAfter` 5 min): a read
 * is one read script (EVALSHA), a modify that + one write script; reads of a session written in the last 5 minutes
 * write nothing.
 */
export const create: AppFactory = async ({ redisUrl, redisPrefix }) => {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const sessions = define({ store: redisStore({ redis, prefix: redisPrefix }) });
  const app = express();
  app.use(expressSession(sessions));
  app.get(
    "/read",
    sessionHandler(sessions, (req, res) => {
      res.json({ theme: req.session.get("theme") });
    }),
  );
  app.post(
    "/modify",
    sessionHandler(sessions, (req, res) => {
      req.session.set("lastSeen", new Date());
      res.json({ ok: true });
    }),
  );
  app.post(
    "/seed/:i",
    sessionHandler(sessions, (req, res) => {
      const i = seedIndex(req.params.i);
      if (i === null) return void res.sendStatus(400);
      req.session.update(makePayload(i));
      res.json({ ok: true });
    }),
  );
  return {
    app,
    async close() {
      redis.disconnect();
    },
  };
};
