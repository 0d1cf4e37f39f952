/**
 * Second attack on the issue-15.5 fixes, on real stores (PGlite, PostgreSQL, Redis): import
 * markers in the operator's counts, in purge, and a re-import once a marker has expired but
 * before a purge removed it.
 */
import { createRequire } from "node:module";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession, type SessionStore } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { testClock } from "../helpers/clock.js";
import { databaseUrl, openPglite, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { deleteKeys } from "../helpers/redis-keys.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "second attack stores secret";
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]) });
const DAY = 86_400_000;
const redisUrl = process.env.REDIS_URL;
const prefix = `i15second-${process.pid}-${Date.now().toString(36)}:`;

interface Backend {
  name: string;
  skip: boolean;
  open(): Promise<{ store: SessionStore; close(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: "pglite",
    skip: false,
    async open() {
      const db: TestDatabase = await openPglite();
      return { store: db.store, close: () => db.close() };
    },
  },
  {
    name: "postgres",
    skip: databaseUrl === undefined,
    async open() {
      const db: TestDatabase = await openPostgresJs(databaseUrl as string);
      return { store: db.store, close: () => db.close() };
    },
  },
  {
    name: "redis",
    skip: redisUrl === undefined,
    async open() {
      const redis = new Redis(redisUrl as string);
      return {
        store: redisStore({ redis, prefix, indexes: ["userId"] }),
        async close() {
          await deleteKeys(redis, `${prefix}*`);
          redis.disconnect();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe.skipIf(backend.skip)(`import markers on ${backend.name}`, () => {
    let opened: Awaited<ReturnType<Backend["open"]>>;
    beforeAll(async () => {
      opened = await backend.open();
    }, 60_000);
    afterAll(async () => {
      await opened?.close();
    });

    const manager = () => {
      const clock = testClock(Date.now());
      const sessions = defineSession({
        schema,
        store: opened.store,
        legacy: expressSessionCookie({ secrets: SECRET }),
        now: clock.now,
      });
      return { sessions, clock };
    };
    const tag = (name: string) => `${backend.name}-${name}-${Math.random().toString(36).slice(2)}`;

    it("stats, inspect and revoke count sessions, never markers or the claimed shadow", async () => {
      const { sessions } = manager();
      const user = tag("user");
      const [a, b] = [tag("a"), tag("b")];
      const before = await sessions.operator.stats();
      await sessions.importLegacy({ sid: a, data: { userId: user }, expiresAt: null });
      await sessions.importLegacy({ sid: b, data: { userId: user }, expiresAt: null });
      expect(await (await sessions.load(legacyCookie(a))).commit()).not.toEqual([]);
      const after = await sessions.operator.stats();
      // Redis keeps no stats (null); the SQL stores do.
      if (backend.name !== "redis") expect(after).not.toBeNull();
      if (before !== null && after !== null) {
        expect(after.live - before.live).toBe(2);
        expect(after.expired - before.expired).toBe(0);
      }
      expect(await sessions.operator.inspect({ where: { userId: user } })).toHaveLength(2);
      expect(await sessions.findMany({ where: { userId: user } })).toHaveLength(2);
      expect((await sessions.operator.revoke({ where: { userId: user } })).count).toBe(2);
    });

    it("a re-import after the marker expired, before any purge, answers with data, not a store error", async () => {
      const { sessions, clock } = manager();
      const sid = tag("re");
      expect(await sessions.importLegacy({ sid, data: { userId: "u" }, expiresAt: new Date(clock.now() + DAY) })).toBe("created");
      clock.advance((2 * DAY) / 1000);
      // The old store still has it (express-session's touch moved its TTL): the import runs again.
      const again = await sessions.importLegacy({ sid, data: { userId: "u" }, expiresAt: new Date(clock.now() + DAY) });
      expect(["created", "exists"]).toContain(again);
      if (again === "created") expect((await sessions.load(legacyCookie(sid))).get("userId")).toBe("u");
    });

    it("a re-import after the claimed shadow and the marker expired does not revive a claimed session's data", async () => {
      const { sessions, clock } = manager();
      const sid = tag("cl");
      await sessions.importLegacy({ sid, data: { userId: "old" }, expiresAt: new Date(clock.now() + DAY) });
      await (await sessions.load(legacyCookie(sid))).commit();
      clock.advance((2 * DAY) / 1000);
      const again = await sessions.importLegacy({ sid, data: { userId: "old" }, expiresAt: new Date(clock.now() + DAY) });
      expect(["created", "exists"]).toContain(again);
    });

    it("purge removes an expired marker, so the live count and a later import are unaffected", async () => {
      const { sessions, clock } = manager();
      const sid = tag("pu");
      await sessions.importLegacy({ sid, data: { userId: "p" }, expiresAt: new Date(clock.now() + DAY) });
      clock.advance((2 * DAY) / 1000);
      const purged = await sessions.operator.purge({ now: new Date(clock.now()) });
      // The record and its marker, both past their expiry (more when other tests' records expired too).
      if (backend.name !== "redis") expect(purged).toBeGreaterThanOrEqual(2);
      expect(await sessions.importLegacy({ sid, data: { userId: "p" }, expiresAt: new Date(clock.now() + DAY) })).toBe("created");
    });
  });
}
