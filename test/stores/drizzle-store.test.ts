import { integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SessionCorruptError, SessionTooLargeError } from "../../src/errors.js";
import type { StoredData, StoredSession } from "../../src/store.js";
import { drizzleStore, migrate, sessionsTable } from "../../src/stores/drizzle/index.js";
import {
  createTable,
  databaseUrl,
  type OpenOptions,
  openNodePostgres,
  openPglite,
  openPostgresJs,
  type TestDatabase,
} from "../helpers/databases.js";
import { jsonbSized } from "../helpers/records.js";

const t0 = new Date("2026-01-01T12:00:00.000Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
let counter = 0;
const newId = () => (++counter).toString(16).padStart(64, "0");

function record(data: StoredData = {}, overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    id: newId(),
    data,
    expiresAt: at(3600),
    absoluteExpiresAt: null,
    createdAt: t0,
    updatedAt: t0,
    schemaVersion: 1,
    rev: 1,
    successorId: null,
    ...overrides,
  };
}

const patchAt = (seconds: number, set: StoredData, deleted: string[] = [], maxBytes = 65536) => ({
  set,
  deleted,
  expiresAt: at(seconds + 3600),
  updatedAt: at(seconds),
  schemaVersion: 1,
  maxBytes,
});

type Open = (options?: OpenOptions) => Promise<TestDatabase>;

const drivers: [string, Open, boolean][] = [
  ["pglite", (options) => openPglite(options), true],
  ["postgres-js", (options) => openPostgresJs(databaseUrl as string, options), databaseUrl !== undefined],
  ["node-postgres", (options) => openNodePostgres(databaseUrl as string, options), databaseUrl !== undefined],
];

for (const [driver, open, enabled] of drivers) {
  describe.skipIf(!enabled)(`drizzleStore on ${driver}`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await open();
    });
    afterAll(async () => {
      await database?.close();
    });
    beforeEach(async () => {
      await database.query("delete from sessions");
    });
    const count = async () => (await database.query("select count(*)::int as n from sessions"))[0]?.n;

    it("get returns the stored record with Dates, and null for an unknown id", async () => {
      const r = record({ a: { json: "x", meta: { values: ["Date"] }, exp: 123 } }, { absoluteExpiresAt: at(9000) });
      await database.store.create(r);
      expect(await database.store.get(r.id, t0)).toEqual(jsonbSized(r));
      expect(await database.store.get(newId(), t0)).toBeNull();
    });

    it("get of an expired row returns null and deletes it", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      expect(await database.store.get(r.id, r.expiresAt)).toBeNull();
      expect(await count()).toBe(0);
    });

    it("create never overwrites an existing row", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      await expect(database.store.create({ ...r, data: { b: { json: 2 } } })).rejects.toThrow();
      expect((await database.store.get(r.id, t0))?.data).toEqual({ a: { json: 1 } });
    });

    it("patch merges set keys, removes deleted keys, moves the expiry and bumps rev", async () => {
      const r = record({ a: { json: 1 }, b: { json: "keep" }, c: { json: true } });
      await database.store.create(r);
      const rev = await database.store.patch(r.id, patchAt(10, { a: { json: 2, exp: 99 }, d: { json: [1] } }, ["c"]), at(10));
      expect(rev).toBe(2);
      const got = await database.store.get(r.id, at(10));
      expect(got?.data).toEqual({ a: { json: 2, exp: 99 }, b: { json: "keep" }, d: { json: [1] } });
      expect(got?.expiresAt).toEqual(at(3610));
      expect(got?.updatedAt).toEqual(at(10));
    });

    it("two concurrent patches on different keys both survive", async () => {
      const r = record({});
      await database.store.create(r);
      const revs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => database.store.patch(r.id, patchAt(1, { [`k${i}`]: { json: i } }), at(1))),
      );
      expect(revs.sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      const got = await database.store.get(r.id, at(1));
      expect(Object.keys(got?.data ?? {}).sort()).toEqual(["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"]);
    });

    it("patch, replace and touch of a deleted row return null/false and insert nothing", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      await database.store.delete(r.id);
      expect(await database.store.patch(r.id, patchAt(1, { a: { json: 2 } }), at(1))).toBeNull();
      expect(await database.store.replace({ ...r, data: {} }, at(1))).toBeNull();
      expect(await database.store.touch(r.id, at(7200), at(1))).toBe(false);
      expect(await count()).toBe(0);
    });

    it("patch, replace and touch of an expired row return null/false and change nothing", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      const now = r.expiresAt;
      expect(await database.store.patch(r.id, patchAt(3600, { a: { json: 2 } }), now)).toBeNull();
      expect(await database.store.replace({ ...r, data: {}, expiresAt: at(9000) }, now)).toBeNull();
      expect(await database.store.touch(r.id, at(9000), now)).toBe(false);
      expect(await database.store.get(r.id, t0)).toEqual(jsonbSized(r));
    });

    it("replace rewrites the whole record and bumps rev", async () => {
      const r = record({ a: { json: 1 }, b: { json: 2 } });
      await database.store.create(r);
      const next = { ...r, data: { c: { json: 3 } }, expiresAt: at(5000), updatedAt: at(5), schemaVersion: 2 };
      expect(await database.store.replace(next, at(5))).toBe(2);
      expect(await database.store.get(r.id, at(5))).toEqual(jsonbSized({ ...next, rev: 2 }));
    });

    it("touch moves only the expiry: data, updatedAt and rev stay", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      expect(await database.store.touch(r.id, at(7200), at(60))).toBe(true);
      expect(await database.store.get(r.id, at(60))).toEqual(jsonbSized({ ...r, expiresAt: at(7200) }));
    });

    it("rotate without grace deletes the old row and inserts the new one", async () => {
      const old = record({ a: { json: 1 } });
      await database.store.create(old);
      const next = record({ a: { json: 1 } }, { rev: 5 });
      expect(await database.store.rotate(old.id, next, null, at(1))).toBe(true);
      expect(await database.store.get(old.id, at(1))).toBeNull();
      expect(await database.store.get(next.id, at(1))).toEqual(jsonbSized(next));
      expect(await count()).toBe(1);
    });

    it("rotate with grace keeps the old row as an empty shadow pointing at the new id until graceUntil", async () => {
      const old = record({ a: { json: 1 } });
      await database.store.create(old);
      const next = record({ a: { json: 1 } });
      expect(await database.store.rotate(old.id, next, at(11), at(1))).toBe(true);
      const shadow = await database.store.get(old.id, at(1));
      expect(shadow).toMatchObject({ data: {}, successorId: next.id, expiresAt: at(11) });
      expect(await database.store.get(old.id, at(11))).toBeNull();
      expect(await database.store.get(next.id, at(11))).toEqual(jsonbSized(next));
    });

    it("a grace shadow takes no writes and cannot be rotated again", async () => {
      const old = record({ a: { json: 1 } });
      await database.store.create(old);
      await database.store.rotate(old.id, record(), at(11), at(1));
      expect(await database.store.patch(old.id, patchAt(2, { b: { json: 1 } }), at(2))).toBeNull();
      expect(await database.store.touch(old.id, at(9000), at(2))).toBe(false);
      const other = record();
      expect(await database.store.rotate(old.id, other, null, at(2))).toBe(false);
      expect(await database.store.get(other.id, at(2))).toBeNull();
    });

    it("rotate of a gone or expired row writes nothing", async () => {
      const gone = record();
      const next = record();
      expect(await database.store.rotate(gone.id, next, null, t0)).toBe(false);
      expect(await database.store.rotate(gone.id, next, at(10), t0)).toBe(false);
      const expired = record({}, { expiresAt: at(5) });
      await database.store.create(expired);
      expect(await database.store.rotate(expired.id, next, at(20), at(5))).toBe(false);
      expect(await database.store.get(next.id, t0)).toBeNull();
      expect(await database.store.get(expired.id, t0)).toEqual(jsonbSized(expired));
    });

    it("find on a field without a column matches data, returns live rows only, newest first, up to limit", async () => {
      const a = record({ userId: { json: "u1" } }, { updatedAt: at(1) });
      const b = record({ userId: { json: "u1" } }, { updatedAt: at(2) });
      const c = record({ userId: { json: "u2" } });
      const expired = record({ userId: { json: "u1" } }, { expiresAt: at(5) });
      for (const r of [a, b, c, expired]) await database.store.create(r);
      expect((await database.store.find({ userId: "u1" }, at(5))).map((r) => r.id)).toEqual([b.id, a.id]);
      expect((await database.store.find({ userId: "u1" }, at(5), { limit: 1 })).map((r) => r.id)).toEqual([b.id]);
      expect(await database.store.find({ userId: "nobody" }, at(5))).toEqual([]);
    });

    it("deleteWhere deletes every match but exceptId and returns the deleted ids", async () => {
      const a = record({ userId: { json: "u1" } });
      const b = record({ userId: { json: "u1" } });
      const c = record({ userId: { json: "u1" } });
      const other = record({ userId: { json: "u2" } });
      for (const r of [a, b, c, other]) await database.store.create(r);
      expect((await database.store.deleteWhere({ userId: "u1" }, { exceptId: a.id })).sort()).toEqual([b.id, c.id].sort());
      expect(await database.store.get(a.id, t0)).not.toBeNull();
      expect(await database.store.get(other.id, t0)).not.toBeNull();
      expect(await count()).toBe(2);
    });

    it("deleteWhere with an empty filter throws a SESSION_USAGE error and deletes nothing", async () => {
      await database.store.create(record());
      await expect(database.store.deleteWhere({})).rejects.toMatchObject({ code: "SESSION_USAGE" });
      expect(await count()).toBe(1);
    });

    it("purgeExpired deletes expired rows in batches and leaves live ones", async () => {
      for (let i = 0; i < 5; i++) await database.store.create(record({}, { expiresAt: at(i) }));
      for (let i = 0; i < 2; i++) await database.store.create(record({}, { expiresAt: at(100) }));
      const counts = [];
      for (let i = 0; i < 4; i++) counts.push(await database.store.purgeExpired(at(50), 2));
      expect(counts).toEqual([2, 2, 1, 0]);
      expect(await count()).toBe(2);
    });

    it("purgeExpired from concurrent callers deletes each row exactly once", async () => {
      await database.query(
        `insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
         select 'p' || g, '{}', $1::timestamptz, $1::timestamptz, $1::timestamptz, 1, 1 from generate_series(1, 200) g`,
        [t0.toISOString()],
      );
      const purger = async () => {
        let total = 0;
        for (let n = -1; n !== 0; total += n) n = await database.store.purgeExpired(at(1), 7);
        return total;
      };
      const totals = await Promise.all([purger(), purger(), purger()]);
      expect(totals.reduce((x, y) => x + y, 0)).toBe(200);
      expect(await count()).toBe(0);
    });

    it("migrate() run again is a no-op", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      await migrate(database.db);
      await migrate(database.db);
      expect(await database.store.get(r.id, t0)).toEqual(jsonbSized(r));
      const applied = await database.query('select count(*)::int as n from drizzle."__tessera_migrations"');
      expect(applied[0]?.n).toBe(1);
    });

    it("two stores on differently named tables of one database keep their prepared statements apart", async () => {
      const other = sessionsTable("other_sessions");
      await createTable(database.query, other);
      const otherStore = drizzleStore({ db: database.db, table: other });
      const r = record({ a: { json: 1 } });
      await otherStore.create(r);
      expect(await otherStore.get(r.id, t0)).toEqual(jsonbSized(r));
      expect(await database.store.get(r.id, t0)).toBeNull();
      expect(await otherStore.patch(r.id, patchAt(1, { b: { json: 2 } }), at(1))).toBe(2);
    });

    // B9: Postgres' own size of the data, which the patch's WHERE enforces.
    const textBytes = async (id: string) =>
      Number((await database.query("select octet_length(data::text) as n from sessions where id = $1", [id]))[0]?.n);
    const kb = (i: number) => ({ json: `${i}:`.padEnd(1000, "é") });
    const measure = (data: StoredData) =>
      Object.entries(data).reduce((sum, [key, entry]) => sum + database.store.entryBytes(key, entry), 0);

    it("B9: entryBytes summed over a record is Postgres' octet_length(data::text), numbers, escapes and Unicode included", async () => {
      const data: StoredData = {
        a: { json: 1e21 },
        "ключ 😀": { json: [1.5e-7, -0, 0.1, 12345678901234567000, true, null, { '"q"': "tab\tnl\nctl\u0001/\u2028" }] },
        c: { json: "x", meta: { values: ["Date"] }, exp: 1_767_225_600_000, flash: true },
      };
      // An own "__proto__" key, as JSON.parse makes one.
      Object.defineProperty(data, "__proto__", { value: { json: { nested: { deeper: [[], {}] } } }, enumerable: true });
      const r = record(JSON.parse(JSON.stringify(data)) as StoredData);
      expect(Object.keys(r.data)).toContain("__proto__");
      await database.store.create(r);
      expect(measure(r.data)).toBe(await textBytes(r.id));
    });

    it("B9: 50 concurrent patches of different keys never grow a row past maxBytes; each is applied or refused whole", async () => {
      const r = record({ userId: { json: "b9" } });
      await database.store.create(r);
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, (_, i) => database.store.patch(r.id, patchAt(1, { [`k${i}`]: kb(i) }, [], 10_000), at(1))),
      );
      const applied = results.flatMap((result, i) => (result.status === "fulfilled" ? [i] : []));
      for (const result of results) {
        if (result.status === "rejected") {
          expect(result.reason).toBeInstanceOf(SessionTooLargeError);
          expect((result.reason as SessionTooLargeError).bytes).toBeGreaterThan(10_000);
        }
      }
      expect(applied.length).toBeGreaterThan(0);
      expect(applied.length).toBeLessThan(50);
      const bytes = await textBytes(r.id);
      expect(bytes).toBeLessThanOrEqual(10_000);
      const got = await database.store.get(r.id, at(1));
      expect(Object.keys(got?.data ?? {}).sort()).toEqual(["userId", ...applied.map((i) => `k${i}`)].sort());
      expect(got?.rev).toBe(1 + applied.length);
      expect(measure(got?.data ?? {})).toBe(bytes);
      // Near the limit, a write replacing an existing key with less still goes through.
      const key = `k${applied[0]}`;
      expect(await database.store.patch(r.id, patchAt(2, { [key]: { json: "small" } }, [], 10_000), at(2))).toBe(
        2 + applied.length,
      );
    });

    it("B9: too large is told apart from gone: a refused patch writes nothing, a patch of a deleted row returns null", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      const error = await database.store.patch(r.id, patchAt(1, { big: kb(0) }, [], 500), at(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionTooLargeError);
      expect((error as SessionTooLargeError).bytes).toBe(measure({ a: { json: 1 }, big: kb(0) }));
      expect(await database.store.get(r.id, at(1))).toEqual(jsonbSized(r));
      // A limit past Postgres' integer range is a limit, not a SQL error.
      expect(await database.store.patch(r.id, patchAt(1, { big: kb(0) }, [], 2 ** 40), at(1))).toBe(2);
      await database.store.delete(r.id);
      expect(await database.store.patch(r.id, patchAt(1, { big: kb(0) }, [], 500), at(1))).toBeNull();
      expect(await count()).toBe(0);
    });

    it("B9: the core's expected size is used only while the row is at its rev; at any other rev the row is measured", async () => {
      const r = record({ a: { json: 1 } }); // rev 1
      await database.store.create(r);
      const grow = { big: kb(0) }; // the merged row is over 500 bytes
      // At the row's rev, the store takes the core's figure (the core holds the row as stored:
      // patch-expected.test.ts checks that figure), so the UPDATE measures nothing.
      const trusted = { ...patchAt(1, grow, [], 500), expected: { rev: 1, bytes: 100 } };
      expect(await database.store.patch(r.id, trusted, at(1))).toBe(2);
      // At another rev (a concurrent patch landed first), the same figure is ignored: measured, refused.
      const stale = { ...patchAt(2, { more: kb(1) }, [], 500), expected: { rev: 1, bytes: 100 } };
      await expect(database.store.patch(r.id, stale, at(2))).rejects.toBeInstanceOf(SessionTooLargeError);
      // A figure over the limit is not a refusal on its own: the row is measured (it may shrink).
      const over = { ...patchAt(3, { big: { json: "x" } }, [], 500), expected: { rev: 2, bytes: 9999 } };
      expect(await database.store.patch(r.id, over, at(3))).toBe(3);
      expect(await textBytes(r.id)).toBeLessThanOrEqual(500);
    });

    it("B9: over a lowered limit a growing patch is refused, one that deletes or shrinks goes through", async () => {
      const r = record({ a: kb(1), b: kb(2), c: kb(3) });
      await database.store.create(r);
      await expect(database.store.patch(r.id, patchAt(1, { d: { json: 1 } }, [], 1000), at(1))).rejects.toBeInstanceOf(
        SessionTooLargeError,
      );
      expect(await database.store.patch(r.id, patchAt(1, { a: { json: "x" } }, [], 1000), at(1))).toBe(2);
      expect(await database.store.patch(r.id, patchAt(1, {}, ["b", "c"], 1000), at(1))).toBe(3);
      expect(await database.store.patch(r.id, patchAt(1, { e: { json: "y" } }, [], 1000), at(1))).toBe(4);
      expect(await textBytes(r.id)).toBeLessThanOrEqual(1000);
      // An empty record is "{}", 2 bytes: allowed under any limit.
      expect(await database.store.patch(r.id, patchAt(1, {}, ["a", "e"], 1), at(1))).toBe(5);
    });

    it("B9 attack: a 10 MB entry written straight into a row: growing it is refused, removing the entry is not", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      await database.query(
        `update sessions set data = data || jsonb_build_object('big', jsonb_build_object('json', repeat('x', $2::int))) where id = $1`,
        [r.id, 10 * 1024 * 1024],
      );
      const error = await database.store.patch(r.id, patchAt(1, { b: { json: 2 } }), at(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionTooLargeError);
      expect((error as SessionTooLargeError).bytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(await database.store.patch(r.id, patchAt(1, { b: { json: 2 } }, ["big"]), at(1))).toBe(2);
      expect((await database.store.get(r.id, at(1)))?.data).toEqual({ a: { json: 1 }, b: { json: 2 } });
    });

    it("B12: a row with a time a Date cannot hold, or data that is not an object, is SessionCorruptError from get", async () => {
      for (const set of ["expires_at = 'infinity'", "updated_at = '290000-01-01T00:00:00Z'", `data = '"{}"'::jsonb`]) {
        const r = record({ a: { json: 1 } });
        await database.store.create(r);
        await database.query(`update sessions set ${set} where id = $1`, [r.id]);
        await expect(database.store.get(r.id, t0), set).rejects.toBeInstanceOf(SessionCorruptError);
      }
    });
  });

  describe.skipIf(!enabled)(`drizzleStore on ${driver} with an indexed userId column`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await open({ columns: { userId: text("user_id"), visits: integer("visits") } });
    });
    afterAll(async () => {
      await database?.close();
    });
    beforeEach(async () => {
      await database.query("delete from sessions");
    });
    const columnsOf = async (id: string) => (await database.query("select user_id, visits from sessions where id = $1", [id]))[0];

    it("the generated columns follow every change of data", async () => {
      const r = record({ userId: { json: "u1" }, visits: { json: 3 } });
      await database.store.create(r);
      expect(await columnsOf(r.id)).toEqual({ user_id: "u1", visits: 3 });
      await database.store.patch(r.id, patchAt(1, { userId: { json: "u2" } }, ["visits"]), at(1));
      expect(await columnsOf(r.id)).toEqual({ user_id: "u2", visits: null });
      await database.store.replace({ ...r, data: { visits: { json: 9 } } }, at(2));
      expect(await columnsOf(r.id)).toEqual({ user_id: null, visits: 9 });
      const next = record({ userId: { json: "u3" } });
      await database.store.rotate(r.id, next, at(10), at(3));
      expect(await columnsOf(r.id)).toEqual({ user_id: null, visits: null });
      expect(await columnsOf(next.id)).toEqual({ user_id: "u3", visits: null });
    });

    it("operator queries: stats counts live, expired, recent and sizes, and the top indexed values; countExpired; vacuum", async () => {
      const live = [
        record({ userId: { json: "u1" }, visits: { json: 1 } }, { createdAt: at(-600) }),
        record({ userId: { json: "u1" } }, { createdAt: at(-7200) }),
        record({ userId: { json: "u2" }, note: { json: "x".repeat(300) } }, { createdAt: at(-2 * 86_400) }),
      ];
      const expired = [record({ userId: { json: "u9" } }, { expiresAt: at(-1) }), record({}, { expiresAt: at(-60) })];
      for (const r of [...live, ...expired]) await database.store.create(r);
      const next = record({ userId: { json: "u3" } });
      await database.store.rotate(live[1]?.id as string, next, at(120), t0); // a grace shadow: not live
      const stats = await database.store.stats?.(t0, { top: 1 });
      const sizes = (
        await database.query(
          "select octet_length(data::text) as n from sessions where expires_at > $1 and successor_id is null order by 1",
          [t0.toISOString()],
        )
      ).map((row) => Number(row.n));
      expect(stats).toEqual({
        live: 3, // live[0], live[2] and next
        expired: 2,
        createdLastHour: 4, // live[0], next and the two expired ones (created at t0), live or not
        createdLastDay: 5, // … and the shadow, created two hours ago
        bytes: { p50: sizes[1], p95: sizes[2], max: sizes[2] },
        top: [
          { field: "userId", values: [{ value: "u1", sessions: 1 }] },
          { field: "visits", values: [{ value: 1, sessions: 1 }] },
        ],
      });
      expect(await database.store.countExpired?.(t0)).toBe(2);
      await database.store.vacuum?.();
      expect((await database.query("select count(*)::int as n from sessions"))[0]?.n).toBe(6);
    });

    it("find and deleteWhere use the indexed columns", async () => {
      const a = record({ userId: { json: "u1" }, visits: { json: 1 } });
      const b = record({ userId: { json: "u1" }, visits: { json: 2 } });
      await database.store.create(a);
      await database.store.create(b);
      expect((await database.store.find({ userId: "u1", visits: 2 }, t0)).map((r) => r.id)).toEqual([b.id]);
      expect(await database.store.deleteWhere({ userId: "u1" }, { exceptId: b.id })).toHaveLength(1);
      expect((await database.store.find({ userId: "u1" }, t0)).map((r) => r.id)).toEqual([b.id]);
    });

    it("a lookup by the indexed column is planned on its index", async () => {
      await database.query(
        `insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
         select 'x' || g, jsonb_build_object('userId', jsonb_build_object('json', 'user' || g)),
           $1::timestamptz, $1::timestamptz, $1::timestamptz, 1, 1 from generate_series(1, 5000) g`,
        [at(3600).toISOString()],
      );
      await database.query("analyze sessions");
      // The shape of find(): every row is live, so only the user_id index is selective.
      const plan = await database.query(
        `explain select id from sessions where user_id = 'user42' and expires_at > $1::timestamptz
         and successor_id is null order by updated_at desc`,
        [t0.toISOString()],
      );
      expect(JSON.stringify(plan)).toContain("sessions_user_id_idx");
    });
  });
}

describe.skipIf(!databaseUrl)("drizzleStore under a row lock held elsewhere", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
  });
  afterAll(async () => {
    await database?.close();
  });

  it("a patch waits while another connection holds the row FOR UPDATE, then applies", async () => {
    const r = record({ a: { json: 1 } });
    await database.store.create(r);
    const other = postgres(database.url as string, { max: 1 });
    try {
      const locker = await other.reserve();
      await locker`begin`;
      await locker`select id from sessions where id = ${r.id} for update`;
      let settled = false;
      const patching = database.store.patch(r.id, patchAt(1, { b: { json: 2 } }), at(1)).finally(() => {
        settled = true;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      await locker`commit`;
      locker.release();
      expect(await patching).toBe(2);
    } finally {
      await other.end({ timeout: 5 });
    }
  });
});

describe("drizzleStore options", () => {
  it("drizzleStore({}) throws a CONFIG error", () => {
    expect(() => drizzleStore({} as never)).toThrow(expect.objectContaining({ code: "CONFIG" }));
  });

  it("a table without the session columns throws a CONFIG error", async () => {
    // postgres.js connects on the first query, and a misconfigured store must throw before any.
    const client = postgres("postgres://127.0.0.1:1/never");
    const table = pgTable("sessions", { id: text("id").primaryKey() });
    expect(() => drizzleStore({ db: drizzlePostgresJs({ client }), table: table as never })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
    await client.end();
  });

  it("sessionsTable rejects field names that are not plain identifiers, start with $ or clash", () => {
    for (const field of ["$userId", "user-id", "a'b", "1x", "data", "expiresAt"]) {
      expect(() => sessionsTable("s", { columns: { [field]: text() } })).toThrow(expect.objectContaining({ code: "CONFIG" }));
    }
  });

  it("sessionsTable rejects NOT NULL and non-castable indexed columns", () => {
    expect(() => sessionsTable("s", { columns: { userId: text("user_id").notNull() } })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
    // Postgres refuses text → timestamptz in a generated column (the cast depends on settings).
    expect(() => sessionsTable("s", { columns: { lastSeen: timestamp("last_seen", { withTimezone: true }) } })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
  });
});
