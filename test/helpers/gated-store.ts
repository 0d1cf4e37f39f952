import * as z from "zod";
import { defineSession, type SessionStore } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "./cookies.js";

/** The schema of the discard() tests: one array key and one optional key. */
export const discardSchema = z.object({ cart: z.array(z.string()).default([]), theme: z.string().optional() });

/**
 * A memory store whose `patch` calls wait, once `close()` was called, until `release()`, so a test
 * acts while a save is in flight. `arrived` resolves when the first patch reaches the closed gate
 * (the save has sent its write and waits).
 */
export function gatedStore() {
  const store = memoryStore();
  let release = () => {};
  let gate: Promise<void> | null = null;
  let entered = () => {};
  const arrived = new Promise<void>((resolve) => {
    entered = resolve;
  });
  return {
    store: {
      ...store,
      patch: async (...args: Parameters<SessionStore["patch"]>) => {
        if (gate !== null) {
          entered();
          await gate;
        }
        return store.patch(...args);
      },
    } satisfies SessionStore,
    close: () => {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    arrived,
    release: () => release(),
  };
}

/**
 * A session loaded from a stored record holding `stored`, on a gated store whose gate is already
 * closed: the session's next save waits at the gate. `cookie` loads the record again.
 */
export async function gatedSession(stored: z.input<typeof discardSchema>) {
  const gated = gatedStore();
  const sessions = defineSession({ schema: discardSchema, store: gated.store });
  const fresh = await sessions.load(undefined);
  fresh.update(stored);
  const cookie = cookieHeader(await fresh.commit());
  const session = await sessions.load(cookie);
  gated.close();
  return { gated, sessions, cookie, session };
}
