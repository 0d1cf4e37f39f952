import { afterAll, describe, expect, expectTypeOf, it } from "vitest";
import * as z from "zod";
import {
  defineSession,
  isTesseraError,
  type OperatorSession,
  openOperator,
  SessionConfigError,
  type SessionEvent,
  type SessionOperator,
  type SessionStore,
  SessionUsageError,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { tokenOf } from "../helpers/cookies.js";
import { databaseUrl, openPglite, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { openLibsqlFile } from "../helpers/sqlite-databases.js";

const schema = z.object({
  userId: z.string().optional(),
  lastLogin: z.date().optional(),
  otp: z.string().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
});

interface Harness {
  store: SessionStore;
  close(): Promise<void>;
}

const backends: [string, () => Promise<Harness>, boolean][] = [
  ["memory", async () => ({ store: memoryStore(), close: async () => {} }), true],
  [
    "PGlite",
    async () => {
      const db: TestDatabase = await openPglite();
      return { store: db.store, close: () => db.close() };
    },
    true,
  ],
  [
    "Postgres",
    async () => {
      const db: TestDatabase = await openPostgresJs(databaseUrl ?? "");
      return { store: db.store, close: () => db.close() };
    },
    databaseUrl !== undefined && databaseUrl !== "",
  ],
  [
    "SQLite (libSQL)",
    async () => {
      const db = await openLibsqlFile();
      return { store: db.store, close: () => db.close() };
    },
    true,
  ],
  [
    "MariaDB",
    async () => {
      const db = await openMysql(mysqlUrl ?? "");
      return { store: db.store, close: () => db.close() };
    },
    mysqlUrl !== undefined && mysqlUrl !== "",
  ],
];

for (const [name, open, enabled] of backends) {
  describe.skipIf(!enabled)(`the operator API on ${name}`, () => {
    const opened: Harness[] = [];
    afterAll(async () => {
      for (const harness of opened) await harness.close();
    });

    /** A manager on a fresh store, its events, and a way to create logged-in sessions. */
    async function setUp() {
      const harness = await open();
      opened.push(harness);
      const clock = testClock(Date.now());
      const events: SessionEvent[] = [];
      const sessions = defineSession({ schema, store: harness.store, now: clock.now, onEvent: (e) => events.push(e) });
      const login = async (userId: string, extra: (s: Awaited<ReturnType<typeof sessions.load>>) => void = () => {}) => {
        clock.advance(1);
        const session = await sessions.load(undefined);
        session.set("userId", userId);
        extra(session);
        const token = tokenOf(await session.commit());
        return { token, tag: session.tag as string };
      };
      return { harness, clock, events, sessions, login };
    }

    it("inspect decodes values with the schema (Dates, defaults) and leaves out keys whose own expiry passed", async () => {
      const { clock, sessions, login } = await setUp();
      const lastLogin = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
      const first = await login("u_1", (s) => {
        s.set("lastLogin", lastLogin);
        s.set("otp", "123456", { ttl: 60 });
      });
      const second = await login("u_1");
      await login("u_2");
      const before = await sessions.operator.inspect({ where: { userId: "u_1" } });
      // Newest first; the schema's default fills theme; the Date is a Date again.
      expect(before.map((s) => s.tag)).toEqual([second.tag, first.tag]);
      expect(before[1]?.data).toEqual({ userId: "u_1", lastLogin, otp: "123456", theme: "light" });
      expect(before[1]?.data.lastLogin).toBeInstanceOf(Date);
      expect(before[1]?.schemaVersion).toBe(1);
      expect(JSON.stringify(before)).not.toContain(first.token);
      clock.advance(61);
      const after = await sessions.operator.inspect({ where: { userId: "u_1" }, limit: 1 });
      expect(after).toHaveLength(1);
      const [oldest] = await sessions.operator.inspect({ where: { userId: "u_1" }, limit: 5 }).then((l) => l.slice(-1));
      expect(oldest?.data).toEqual({ userId: "u_1", lastLogin, theme: "light" });
      expect(oldest?.data).not.toHaveProperty("otp");
    });

    it("without a schema, inspect shows each entry as stored, decoded, per-key expiry applied", async () => {
      const { harness, clock, login } = await setUp();
      const lastLogin = new Date(Date.UTC(2026, 0, 2));
      await login("u_3", (s) => {
        s.set("lastLogin", lastLogin);
        s.set("otp", "654321", { ttl: 30 });
      });
      const operator = openOperator({ store: harness.store, now: clock.now });
      const [found] = await operator.inspect({ where: { userId: "u_3" } });
      // No schema, so no default for theme, and the Date is still decoded by the codec.
      expect(found?.data).toEqual({ userId: "u_3", lastLogin, otp: "654321" });
      clock.advance(31);
      const [later] = await operator.inspect({ where: { userId: "u_3" } });
      expect(later?.data).toEqual({ userId: "u_3", lastLogin });
    });

    it("revoke deletes the matching sessions, fires one `revoked` event with the count, and returns their tags", async () => {
      const { events, sessions, login } = await setUp();
      const a = await login("u_9");
      const b = await login("u_9");
      const other = await login("u_10");
      events.length = 0;
      const result = await sessions.operator.revoke({ where: { userId: "u_9" } });
      expect(result.count).toBe(2);
      expect([...result.tags].sort()).toEqual([a.tag, b.tag].sort());
      expect(events).toEqual([{ type: "revoked", count: 2 }]);
      expect(await sessions.get(a.token)).toBeNull();
      expect(await sessions.get(b.token)).toBeNull();
      expect(await sessions.get(other.token)).not.toBeNull();
    });

    it("openOperator's revoke fires `revoked` through its own onEvent", async () => {
      const { harness, login } = await setUp();
      await login("u_11");
      const events: SessionEvent[] = [];
      const operator = openOperator({ store: harness.store, onEvent: (e) => events.push(e) });
      expect((await operator.revoke({ where: { userId: "u_11" } })).count).toBe(1);
      expect(events).toEqual([{ type: "revoked", count: 1 }]);
    });

    it('issue 16: revoke, findMany and inspect refuse a `where` value holding a lone surrogate or U+0000, and never reach the sessions of the user "\\ufffd" (drivers send a lone surrogate as U+FFFD)', async () => {
      const { sessions, login } = await setUp();
      const replaced = await login("\ufffd");
      const operator = sessions.operator as unknown as SessionOperator;
      for (const value of ["\udfff", "a\ud800", "\u0000", "u\u0000x"]) {
        await expect(sessions.revoke({ where: { userId: value } })).rejects.toThrow(SessionUsageError);
        await expect(sessions.findMany({ where: { userId: value } })).rejects.toThrow(SessionUsageError);
        await expect(operator.inspect({ where: { userId: value } })).rejects.toThrow(SessionUsageError);
        await expect(operator.revoke({ where: { userId: value } })).rejects.toThrow(SessionUsageError);
      }
      // A paired surrogate (an emoji) is ordinary text.
      expect(await sessions.findMany({ where: { userId: "\ud83d\ude00" } })).toEqual([]);
      const left = await sessions.findMany({ where: { userId: "\ufffd" } });
      expect(left.map((s) => s.tag)).toEqual([replaced.tag]);
    });

    it("revoke and inspect refuse a `where` field not in the schema, an empty one or a non-scalar value with SessionUsageError (call-time misuse, not CONFIG), deleting nothing", async () => {
      const { sessions, login } = await setUp();
      const kept = await login("u_12");
      const operator = sessions.operator as unknown as SessionOperator;
      await expect(operator.revoke({ where: { userid: "u_12" } })).rejects.toThrow(SessionUsageError);
      await expect(operator.revoke({ where: { userid: "u_12" } })).rejects.toThrow('"userid" is not in the schema');
      await expect(operator.inspect({ where: { role: "admin" } })).rejects.toSatisfy(
        (error) => isTesseraError(error) && error.code === "SESSION_USAGE",
      );
      await expect(operator.revoke({ where: {} })).rejects.toThrow(SessionUsageError);
      await expect(operator.revoke({ where: { userId: undefined } as never })).rejects.toThrow(SessionUsageError);
      await expect(operator.revoke({ where: { userId: { $ne: "x" } } as never })).rejects.toThrow(SessionUsageError);
      await expect(operator.inspect({ where: null as never })).rejects.toThrow(SessionUsageError);
      // Not the start-up error: CONFIG stays for openOperator's and defineSession's options.
      await expect(operator.revoke({ where: {} })).rejects.not.toThrow(SessionConfigError);
      expect(await sessions.get(kept.token)).not.toBeNull();
    });

    it("purge and stats refuse a bad batchSize or top with SessionUsageError, before touching the store", async () => {
      const { sessions } = await setUp();
      for (const batchSize of [0, -1, 1.5]) {
        await expect(sessions.operator.purge({ batchSize })).rejects.toSatisfy(
          (error) => isTesseraError(error) && error.code === "SESSION_USAGE",
        );
      }
      await expect(sessions.operator.stats({ top: 0 })).rejects.toThrow(SessionUsageError);
    });

    it("inspect refuses a limit that is not a positive integer with SessionUsageError, rather than cutting the list short", async () => {
      const { sessions, login } = await setUp();
      await login("u_13");
      await login("u_13");
      for (const limit of [-1, 0, 1.5]) {
        await expect(sessions.operator.inspect({ where: { userId: "u_13" }, limit })).rejects.toThrow(SessionUsageError);
      }
      expect(await sessions.operator.inspect({ where: { userId: "u_13" }, limit: 1 })).toHaveLength(1);
    });

    it("purge deletes what expired by `now` in batches, reporting progress; countExpired counts it first", async () => {
      const { harness, clock, sessions, login } = await setUp();
      for (let i = 0; i < 5; i++) await login(`old_${i}`);
      // maxAge is 14 days: these five expire, the next two are fresh.
      clock.advance(15 * 86_400);
      const fresh = [await login("new_1"), await login("new_2")];
      const now = new Date(clock.now());
      expect(await sessions.operator.countExpired({ now })).toBe(harness.store.countExpired ? 5 : null);
      const progress: number[] = [];
      expect(await sessions.operator.purge({ batchSize: 2, now, onProgress: (n) => progress.push(n) })).toBe(5);
      expect(progress).toEqual([2, 4, 5]);
      expect(await sessions.operator.purge({ now })).toBe(0);
      for (const session of fresh) expect(await sessions.get(session.token)).not.toBeNull();
      expect(await sessions.operator.vacuum()).toBe(harness.store.vacuum !== undefined);
    });

    it("stats reports live and expired counts where the store can (Drizzle), and null where it cannot", async () => {
      const { harness, clock, sessions, login } = await setUp();
      await login("s_1");
      clock.advance(15 * 86_400);
      await login("s_2");
      await login("s_3");
      const stats = await sessions.operator.stats({ now: new Date(clock.now()) });
      if (harness.store.stats === undefined) expect(stats).toBeNull();
      else expect(stats).toMatchObject({ live: 2, expired: 1, top: [] });
    });
  });
}

describe("the operator API's types", () => {
  it("sessions.operator is typed by the schema; openOperator without one takes any field", () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    expectTypeOf(sessions.operator).toEqualTypeOf<SessionOperator<typeof schema>>();
    type Listed = Awaited<ReturnType<typeof sessions.operator.inspect>>[number];
    expectTypeOf<Listed["data"]["lastLogin"]>().toEqualTypeOf<Date | undefined>();
    expectTypeOf<Listed["data"]["theme"]>().toEqualTypeOf<"light" | "dark">();
    // Type-checked, never called.
    const _refused = () => [
      // @ts-expect-error -- not a field of the schema
      sessions.operator.revoke({ where: { userid: "u_1" } }),
      // @ts-expect-error -- userId is a string
      sessions.operator.revoke({ where: { userId: 1 } }),
    ];
    expectTypeOf(_refused).toBeFunction();
    const bare = openOperator({ store: memoryStore() });
    expectTypeOf(bare).toEqualTypeOf<SessionOperator>();
    expectTypeOf<Awaited<ReturnType<typeof bare.inspect>>[number]>().toEqualTypeOf<OperatorSession>();
    expectTypeOf<OperatorSession["data"]>().toEqualTypeOf<Record<string, unknown>>();
  });

  it("openOperator refuses a missing store or a cookie store, and a bad cache, with SessionConfigError", () => {
    expect(() => openOperator({} as never)).toThrow(SessionConfigError);
    expect(() => openOperator({ store: { kind: "cookie" } as never })).toThrow(SessionConfigError);
    expect(() => openOperator({ store: memoryStore(), cache: {} as never })).toThrow(SessionConfigError);
  });
});
