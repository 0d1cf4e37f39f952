/**
 * Issue 13 attack on the collection side of the seam. "Log out everywhere but here":
 * `revoke({ except: session })` now reads the store id through the package's internals accessor;
 * on a real Postgres (drizzle over postgres-js) and a real Redis it must keep exactly the current
 * session, also when that session rotated earlier in the same request or was reached through
 * its pre-rotation token within `rotationGrace`. And a cookie store's listing and revoking
 * refuse with SESSION_USAGE, writing and emitting nothing.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import {
  defineSession,
  type SessionEvent,
  type SessionManager,
  type SessionOptions,
  SessionUsageError,
} from "../../src/index.js";
import type { SessionStore } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";
import { countingStore } from "../helpers/counting-store.js";
import { databaseUrl, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { redisUrl, sharedRedisStore } from "../helpers/redis-server.js";

const schema = z.object({ userId: z.string().optional(), device: z.string().optional() });
type Sessions = SessionManager<typeof schema>;

async function device(sessions: Sessions, userId: string, name: string): Promise<string> {
  const s = await sessions.load(undefined);
  s.set("userId", userId);
  s.set("device", name);
  return cookieHeader(await s.commit());
}

const devicesOf = async (sessions: Sessions, userId: string) =>
  (await sessions.findMany({ where: { userId } })).map((info) => info.data.device).sort();

function revokeSuite(name: string, skip: boolean, open: () => Promise<{ store: SessionStore; close(): Promise<void> }>) {
  describe.skipIf(skip)(`issue 13 revoke({ except }) on ${name}`, () => {
    let backend: { store: SessionStore; close(): Promise<void> };
    beforeAll(async () => {
      backend = await open();
    });
    afterAll(async () => {
      await backend?.close();
    });

    function manager(options: Pick<SessionOptions<typeof schema>, "rotationGrace"> = {}) {
      const clock = testClock();
      const events: SessionEvent[] = [];
      const sessions = defineSession({
        schema,
        store: backend.store,
        cookie: { name: "sid", secure: true },
        now: clock.now,
        onEvent: (event) => events.push(event),
        ...options,
      });
      return { sessions, events, clock };
    }

    it("keeps exactly the current session of the user, and no other user's", async () => {
      const { sessions, events } = manager();
      const user = `u-${randomUUID()}`;
      const other = `u-${randomUUID()}`;
      const here = await device(sessions, user, "laptop");
      const phone = await device(sessions, user, "phone");
      await device(sessions, user, "tablet");
      const theirs = await device(sessions, other, "theirs");
      const current = await sessions.load(here);
      events.length = 0;
      expect(await sessions.revoke({ where: { userId: user }, except: current })).toBe(2);
      expect(events.map((e) => [e.type, e.count])).toEqual([["revoked", 2]]);
      expect(await devicesOf(sessions, user)).toEqual(["laptop"]);
      expect((await sessions.load(here)).get("device")).toBe("laptop");
      expect((await sessions.load(phone)).isNew).toBe(true);
      expect((await sessions.load(theirs)).get("device")).toBe("theirs");
      // The current session still saves after the others went.
      current.set("device", "laptop2");
      await current.save();
      expect((await sessions.load(here)).get("device")).toBe("laptop2");
    });

    it("after rotate() in the same request, it keeps the rotated record (the new id), and its new cookie works", async () => {
      const { sessions } = manager();
      const user = `u-${randomUUID()}`;
      const here = await device(sessions, user, "laptop");
      await device(sessions, user, "phone");
      const current = await sessions.load(here);
      await current.rotate();
      expect(await sessions.revoke({ where: { userId: user }, except: current })).toBe(1);
      const sent = await current.commit();
      expect(sent).toHaveLength(1);
      expect((await sessions.load(cookieHeader(sent))).get("device")).toBe("laptop");
      expect(await devicesOf(sessions, user)).toEqual(["laptop"]);
    });

    it("through the pre-rotation token within rotationGrace, it keeps the rotated session (what both cookies reach)", async () => {
      const { sessions } = manager({ rotationGrace: "30s" });
      const user = `u-${randomUUID()}`;
      const before = await device(sessions, user, "laptop");
      await device(sessions, user, "phone");
      const rotating = await sessions.load(before);
      await rotating.rotate();
      const after = cookieHeader(await rotating.commit());
      const viaOld = await sessions.load(before);
      expect(viaOld.get("device")).toBe("laptop");
      expect(await sessions.revoke({ where: { userId: user }, except: viaOld })).toBe(1);
      expect((await sessions.load(after)).get("device")).toBe("laptop");
      expect(await devicesOf(sessions, user)).toEqual(["laptop"]);
    });

    it("except a session that is not stored (never saved, or destroyed in this request) keeps nothing of the user", async () => {
      const { sessions } = manager();
      const user = `u-${randomUUID()}`;
      const here = await device(sessions, user, "laptop");
      await device(sessions, user, "phone");
      const current = await sessions.load(here);
      await current.destroy();
      // Its own record went with destroy(): the phone is all that is left to revoke.
      expect(await sessions.revoke({ where: { userId: user }, except: current })).toBe(1);
      expect(await devicesOf(sessions, user)).toEqual([]);
      const fresh = await sessions.load(undefined);
      await device(sessions, user, "tablet");
      expect(await sessions.revoke({ where: { userId: user }, except: fresh })).toBe(1);
    });
  });
}

revokeSuite("PostgreSQL (drizzle, postgres-js)", !databaseUrl, async () => {
  const database: TestDatabase = await openPostgresJs(databaseUrl as string);
  return { store: database.store, close: () => database.close() };
});

revokeSuite("Redis", !redisUrl, async () => sharedRedisStore(["userId"]));

describe("issue 13: a cookie store's listing and revoking refuse at the call (SESSION_USAGE) and do nothing", () => {
  const A = "secret-A-secret-A-secret-A-secret-A-0001";

  async function rig() {
    const events: SessionEvent["type"][] = [];
    const counted = countingStore(cookieStore({ secrets: [A] }));
    const sessions = defineSession({
      schema,
      store: counted.store,
      cookie: { name: "sid", secure: true },
      onEvent: (e) => events.push(e.type),
    });
    const cookie = await device(sessions, "u1", "laptop");
    const current = await sessions.load(cookie);
    counted.reset();
    events.length = 0;
    return { sessions, events, calls: counted.calls as Record<string, number>, cookie, current };
  }

  const refusals: Record<string, (r: Awaited<ReturnType<typeof rig>>) => Promise<unknown>> = {
    findMany: (r) => r.sessions.findMany({ where: { userId: "u1" } }),
    revoke: (r) => r.sessions.revoke({ where: { userId: "u1" } }),
    "revoke except": (r) => r.sessions.revoke({ where: { userId: "u1" }, except: r.current }),
    "destroy(token)": (r) => r.sessions.destroy(r.cookie.slice("sid=".length)),
    "destroy(junk)": (r) => r.sessions.destroy("junk"),
    "operator.inspect": (r) => r.sessions.operator.inspect({ where: { userId: "u1" } }),
    "operator.revoke": (r) => r.sessions.operator.revoke({ where: { userId: "u1" } }),
  };

  for (const [name, call] of Object.entries(refusals)) {
    it(`${name}: SessionUsageError (SESSION_USAGE), no seal, no open, no event, and the session still loads`, async () => {
      const r = await rig();
      const error = await call(r).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(SessionUsageError);
      expect((error as SessionUsageError).code).toBe("SESSION_USAGE");
      expect((error as Error).message).toMatch(/server-side store/);
      expect(r.calls.seal).toBe(0);
      expect(r.calls.open).toBe(0);
      expect(r.events).toEqual([]);
      expect((await r.sessions.load(r.cookie)).get("device")).toBe("laptop");
    });
  }

  it("the operator's counting and purging report nothing to do rather than throw", async () => {
    const r = await rig();
    expect(await r.sessions.operator.stats()).toBeNull();
    expect(await r.sessions.operator.countExpired()).toBeNull();
    expect(await r.sessions.operator.purge()).toBe(0);
    expect(await r.sessions.purgeExpired()).toBe(0);
    expect(r.calls.seal).toBe(0);
  });
});
