/** The app after the move: Express on tesserae/express, its `/me` telling who is logged in. */
import express from "express";
import { expressSession, sessionHandler } from "../../src/adapters/express.js";
import type { SessionManager } from "../../src/index.js";
import { listenNode } from "../helpers/listen.js";
import type { importSchema } from "./fixtures/shape.js";

export async function tesseraApp(sessions: SessionManager<typeof importSchema>) {
  const app = express()
    .use(expressSession(sessions))
    .get(
      "/me",
      sessionHandler(sessions, (req, res) => {
        const session = req.session;
        res.json({ userId: session.has("userId") ? session.get("userId") : null, cart: session.get("cart") });
      }),
    )
    .post(
      "/cart",
      sessionHandler(sessions, (req, res) => {
        req.session.set("cart", [...req.session.get("cart"), "added"]);
        res.json({ ok: true });
      }),
    );
  const server = await listenNode(app);
  return {
    ...server,
    /** GET /me with `cookie`: the body, the status and the Set-Cookie values. */
    async me(cookie: string) {
      const response = await fetch(`${server.url}/me`, { headers: { cookie } });
      const body = response.status === 200 ? ((await response.json()) as { userId: string | null; cart: string[] }) : null;
      return { status: response.status, body, setCookies: response.headers.getSetCookie() };
    },
  };
}
