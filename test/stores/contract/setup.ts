import { it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionManager, type SessionOptions } from "../../../src/index.js";
import type { SessionSchema } from "../../../src/schema.js";
import type { CookieSessionStore, SessionStore, StoredEntry } from "../../../src/store.js";
import { type TestClock, testClock } from "../../helpers/clock.js";
import { cookieHeader } from "../../helpers/cookies.js";
import { countingStore } from "../../helpers/counting-store.js";

/** What each backend gives the conformance suite: its real store plus raw views of what it holds. */
export interface StoreHarness {
  store: SessionStore | CookieSessionStore;
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
  /**
   * B12: ways to put garbage the store cannot read under `id`, each written straight into the
   * backend in its own form (a metadata field that does not parse, an entry that is not JSON…),
   * by name. Each must load as a fresh session with a `corrupt` event and be deleted.
   */
  garbage?: Record<string, (id: string) => Promise<void>>;
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
    // The suite's requests carry `sid=…`: named here, so the default name (B15) does not matter.
    cookie: { secure: true, name: "sid" },
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

/** How the suite runs for one store. */
export interface ContractScope {
  /** The store keeps sessions in the cookie (no server state): server-state tests are listed as not applicable. */
  clientSide: boolean;
}

/**
 * `it` for a test that needs server-side state (revocation, records to count, per-key merges of
 * concurrent requests). For a client-side store it is listed, skipped, with the reason in its name.
 */
export function serverOnly(scope: ContractScope): (name: string, test: () => Promise<void>) => void {
  return scope.clientSide ? (name) => it.skip(`${name} [not applicable: the store keeps no server-side state]`) : it;
}

/** The cookie a browser sends next: the one just set, else the one it had (stores that never change it). */
export function follow(cookie: string, setCookies: readonly string[]): string {
  return setCookies.length > 0 ? cookieHeader(setCookies) : cookie;
}

/** The harness store's size measure of one entry for `maxBytes` (`SessionStore.entryBytes`, else the default). */
export function entryMeasure(h: StoreHarness): (key: string, entry: StoredEntry) => number {
  const store = h.store as Partial<SessionStore>;
  return store.entryBytes ? store.entryBytes.bind(store) : (_key, entry) => Buffer.byteLength(JSON.stringify(entry));
}

/** The harness's store as a server-side store (for tests that plant records directly). */
export function serverStore(h: StoreHarness): SessionStore {
  return h.store as SessionStore;
}
