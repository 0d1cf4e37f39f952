import type { SessionData, Store } from "express-session";
import { makePayload, TTL_SECONDS } from "../workload.js";

/** What express-session hands its store: the data plus its `cookie` object. */
export function expressSession(i: number): SessionData {
  return {
    cookie: { originalMaxAge: TTL_SECONDS * 1000, expires: new Date(Date.now() + TTL_SECONDS * 1000), httpOnly: true, path: "/" },
    ...makePayload(i),
  } as unknown as SessionData;
}

/**
 * express-session's store calls as its middleware drives them with `resave: false`: `get` on
 * every request, then `set` when the session changed, else `touch` (every read).
 */
export function expressStoreOps(store: Store, ids: string[]) {
  const get = (sid: string) =>
    new Promise<SessionData>((resolve, reject) =>
      store.get(sid, (error, session) => {
        if (error) reject(error);
        else if (!session) reject(new Error(`session ${sid} not found`));
        else resolve(session);
      }),
    );
  const set = (sid: string, session: SessionData) =>
    new Promise<void>((resolve, reject) => store.set(sid, session, (error) => (error ? reject(error) : resolve())));
  const touch = (sid: string, session: SessionData) =>
    new Promise<void>((resolve, reject) => {
      if (!store.touch) return resolve();
      store.touch(sid, session, (error?: unknown) => (error ? reject(error) : resolve()));
    });
  return {
    set,
    async read(i: number) {
      const sid = ids[i]!;
      const session = await get(sid);
      void (session as unknown as { theme: string }).theme;
      await touch(sid, session);
    },
    async modify(i: number) {
      const sid = ids[i]!;
      const session = await get(sid);
      (session as unknown as { lastSeen: Date }).lastSeen = new Date();
      await set(sid, session);
    },
  };
}
