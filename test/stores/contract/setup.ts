import * as z from "zod";
import { defineSession, type SessionManager, type SessionOptions } from "../../../src/index.js";
import type { SessionSchema } from "../../../src/schema.js";
import type { SessionStore } from "../../../src/store.js";
import { type TestClock, testClock } from "../../helpers/clock.js";
import { countingStore } from "../../helpers/counting-store.js";

/** What each backend gives the conformance suite: its real store plus raw views of what it holds. */
export interface StoreHarness {
  store: SessionStore;
  /** Everything the backend holds, as text (to search it for raw tokens). */
  dump(): Promise<string>;
  /** How many records the backend holds, expired ones included. */
  count(): Promise<number>;
  /** Empties the backend between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
  /**
   * Set by backends that expire records themselves (Redis TTLs): `purgeExpired` then deletes
   * nothing and returns 0, and the suite checks that expired sessions never load instead.
   */
  expiresByItself?: true;
  /**
   * Plants a record that is corrupt in the backend's own form under `id`. Without it the suite
   * stores a record whose `data` is not an object through the store itself.
   */
  plantCorrupt?(id: string): Promise<void>;
  /** The event a corrupt record raises on this backend. @default "corrupt" */
  corruptEvent?: "corrupt" | "unknown";
}

export type OpenStore = () => Promise<StoreHarness>;

export const appSchema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
  lastSeen: z.date().optional(),
  visits: z.number().int().default(0),
  tags: z.set(z.string()).optional(),
  scores: z.map(z.string(), z.bigint()).optional(),
  profile: z.object({ name: z.string(), bio: z.string().optional(), nested: z.object({ at: z.date() }).optional() }).optional(),
  notice: z.string().optional(),
  otp: z.string().optional(),
  prefs: z.record(z.string(), z.string()).optional(),
});

/** A manager on the harness's store with a hand-moved clock and counted store calls. */
export function makeSessions<S extends SessionSchema = typeof appSchema>(
  h: StoreHarness,
  options: Partial<Omit<SessionOptions<S>, "store">> & { schema?: S } = {},
  clock: TestClock = testClock(),
) {
  const counted = countingStore(h.store);
  const sessions = defineSession({
    schema: appSchema as unknown as S,
    cookie: { secure: true },
    now: clock.now,
    ...options,
    store: counted.store,
  });
  return { sessions, clock, calls: counted.calls, resetCalls: counted.reset };
}

/** A new session holding `{ userId }`, saved: the Set-Cookie values of that first response. */
export async function signedIn(sessions: SessionManager<typeof appSchema>, userId = "u1"): Promise<string[]> {
  const session = await sessions.load(undefined);
  session.set("userId", userId);
  return session.commit();
}
