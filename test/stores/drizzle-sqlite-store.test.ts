/**
 * drizzleStore on SQLite, store level: what the conformance suite does not reach (drizzle-sqlite
 * .test.ts runs it). On every driver: libSQL on a file and on `:memory:`, better-sqlite3 on a file.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import Database from "better-sqlite3";
import { drizzle as drizzleBetterSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import { integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SessionCorruptError, SessionLateWriteError, SessionTooLargeError } from "../../src/errors.js";
import type { SessionPatch, StoredData, StoredSession } from "../../src/store.js";
import { drizzleStore, migrate, type SqliteDb } from "../../src/stores/drizzle/index.js";
import { sqliteEntryBytes } from "../../src/stores/drizzle/sqlite/entry-bytes.js";
import { sessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import {
  createSqliteTable,
  openBetterSqlite,
  openLibsqlFile,
  openLibsqlMemory,
  type SqliteOpenOptions,
  type SqliteTestDatabase,
  sqliteGarbage,
} from "../helpers/sqlite-databases.js";

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

/** `record` as the SQLite store reads it back: `measuredBytes` is Σ sqliteEntryBytes over its entries. */
function sized(r: StoredSession): StoredSession {
  let measuredBytes = 0;
  for (const [key, entry] of Object.entries(r.data)) measuredBytes += sqliteEntryBytes(key, entry);
  return { ...r, measuredBytes };
}

const patchAt = (seconds: number, set: StoredData, deleted: string[] = [], maxBytes = 65536): SessionPatch => ({
  set,
  deleted,
  expiresAt: at(seconds + 3600),
  updatedAt: at(seconds),
  schemaVersion: 1,
  maxBytes,
});

const drivers: [string, (options?: SqliteOpenOptions) => Promise<SqliteTestDatabase>][] = [
  ["libSQL (file)", openLibsqlFile],
  ["libSQL (:memory:)", openLibsqlMemory],
  ["better-sqlite3 (file)", openBetterSqlite],
];

/** A child process running a test/helpers script through tsx; resolves once it printed `ready`. */
async function child(
  script: string,
  args: string[],
  ready: string,
): Promise<{ proc: ChildProcessWithoutNullStreams; output: () => string }> {
  const proc = spawn(
    process.execPath,
    ["--import", "tsx", fileURLToPath(new URL(`../helpers/${script}`, import.meta.url)), ...args],
    {
      stdio: "pipe",
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
    },
  );
  let output = "";
  proc.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  let stderr = "";
  proc.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  await new Promise<void>((resolve, reject) => {
    const check = () => (output.includes(ready) ? resolve() : undefined);
    proc.stdout.on("data", check);
    proc.on("exit", (code) => reject(new Error(`${script} exited (${code}): ${stderr}`)));
  });
  return { proc, output: () => output };
}

async function finished(proc: ChildProcessWithoutNullStreams): Promise<void> {
  proc.stdin.end();
  if (proc.exitCode === null) await once(proc, "exit");
}

for (const [driver, open] of drivers) {
  describe(`drizzleStore on SQLite via ${driver}`, () => {
    let database: SqliteTestDatabase;
    beforeAll(async () => {
      database = await open();
    });
    afterAll(async () => {
      await database?.close();
    });
    beforeEach(async () => {
      await database.query("delete from sessions");
    });
    const count = async () => Number((await database.query("select count(*) as n from sessions"))[0]?.n);
    // The stored text's bytes, less one (0 for "{}"): the measure the patch enforces.
    const storedBytes = async (id: string) =>
      Number(
        (
          await database.query(
            "select case when data = '{}' then 0 else length(cast(data as blob)) - 1 end as n from sessions where id = ?",
            [id],
          )
        )[0]?.n,
      );
    const measure = (data: StoredData) =>
      Object.entries(data).reduce((sum, [key, entry]) => sum + sqliteEntryBytes(key, entry), 0);
    const kb = (i: number) => ({ json: `${i}:`.padEnd(1000, "é") });

    it("get returns the stored record with Dates, and null for an unknown id; times are integer epoch ms", async () => {
      const r = record({ a: { json: "x", meta: { values: ["Date"] }, exp: 123 } }, { absoluteExpiresAt: at(9000) });
      await database.store.create(r);
      expect(await database.store.get(r.id, t0)).toEqual(sized(r));
      expect(await database.store.get(newId(), t0)).toBeNull();
      const [row] = await database.query("select typeof(expires_at) as k, expires_at as v from sessions where id = ?", [r.id]);
      expect(row).toEqual({ k: "integer", v: r.expiresAt.getTime() });
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

    it("patch, replace and touch of a deleted or expired row return null/false and write nothing", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      const now = r.expiresAt;
      expect(await database.store.patch(r.id, patchAt(3600, { a: { json: 2 } }), now)).toBeNull();
      expect(await database.store.replace({ ...r, data: {}, expiresAt: at(9000) }, now)).toBeNull();
      expect(await database.store.touch(r.id, at(9000), now)).toBe(false);
      expect(await database.store.get(r.id, t0)).toEqual(sized(r));
      await database.store.delete(r.id);
      expect(await database.store.patch(r.id, patchAt(1, { a: { json: 2 } }), at(1))).toBeNull();
      expect(await database.store.replace({ ...r, data: {} }, at(1))).toBeNull();
      expect(await database.store.touch(r.id, at(7200), at(1))).toBe(false);
      expect(await count()).toBe(0);
    });

    it("replace rewrites the whole record and bumps rev; touch moves only the expiry", async () => {
      const r = record({ a: { json: 1 }, b: { json: 2 } });
      await database.store.create(r);
      const next = { ...r, data: { c: { json: 3 } }, expiresAt: at(5000), updatedAt: at(5), schemaVersion: 2 };
      expect(await database.store.replace(next, at(5))).toBe(2);
      expect(await database.store.get(r.id, at(5))).toEqual(sized({ ...next, rev: 2 }));
      expect(await database.store.touch(r.id, at(7200), at(60))).toBe(true);
      expect(await database.store.get(r.id, at(60))).toEqual(sized({ ...next, rev: 2, expiresAt: at(7200) }));
    });

    it("notAfter: a patch or replace arriving after a newer write is SessionLateWriteError and writes nothing", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      expect(await database.store.patch(r.id, patchAt(10, { a: { json: 2 } }), at(10))).toBe(2);
      const late = { ...patchAt(5, { a: { json: 3 } }), notAfter: at(6) };
      await expect(database.store.patch(r.id, late, at(11))).rejects.toBeInstanceOf(SessionLateWriteError);
      await expect(database.store.replace({ ...r, data: {}, updatedAt: at(5) }, at(11), at(6))).rejects.toBeInstanceOf(
        SessionLateWriteError,
      );
      expect((await database.store.get(r.id, at(11)))?.data).toEqual({ a: { json: 2 } });
      expect(await database.store.patch(r.id, { ...patchAt(12, { a: { json: 4 } }), notAfter: at(13) }, at(12))).toBe(3);
    });

    it("rotate without grace deletes the old row; with grace keeps it as an empty shadow; a shadow takes no writes", async () => {
      const old = record({ a: { json: 1 } });
      await database.store.create(old);
      const next = record({ a: { json: 1 } }, { rev: 5 });
      expect(await database.store.rotate(old.id, next, null, at(1))).toBe(true);
      expect(await database.store.get(old.id, at(1))).toBeNull();
      expect(await database.store.get(next.id, at(1))).toEqual(sized(next));
      const third = record({ a: { json: 1 } });
      expect(await database.store.rotate(next.id, third, at(11), at(1))).toBe(true);
      expect(await database.store.get(next.id, at(1))).toMatchObject({
        data: {},
        successorId: third.id,
        expiresAt: at(11),
        rev: 6,
      });
      expect(await database.store.patch(next.id, patchAt(2, { b: { json: 1 } }), at(2))).toBeNull();
      expect(await database.store.touch(next.id, at(9000), at(2))).toBe(false);
      const other = record();
      expect(await database.store.rotate(next.id, other, null, at(2))).toBe(false);
      expect(await database.store.get(other.id, at(2))).toBeNull();
      expect(await count()).toBe(2);
    });

    it("rotate of a gone or expired row writes nothing", async () => {
      const next = record();
      expect(await database.store.rotate(newId(), next, null, t0)).toBe(false);
      expect(await database.store.rotate(newId(), next, at(10), t0)).toBe(false);
      const expired = record({}, { expiresAt: at(5) });
      await database.store.create(expired);
      expect(await database.store.rotate(expired.id, next, at(20), at(5))).toBe(false);
      expect(await database.store.get(next.id, t0)).toBeNull();
      expect(await database.store.get(expired.id, t0)).toEqual(sized(expired));
    });

    it("rotate is atomic: when the insert fails the old row stays, when the retire fails the new row is not there", async () => {
      const old = record({ a: { json: 1 } });
      const taken = record({ b: { json: 2 } });
      await database.store.create(old);
      await database.store.create(taken);
      // The new id exists: the INSERT fails, and nothing else happens.
      await expect(database.store.rotate(old.id, { ...taken, data: { c: { json: 3 } } }, at(10), at(1))).rejects.toThrow();
      expect(await database.store.get(old.id, at(1))).toEqual(sized(old));
      expect(await database.store.get(taken.id, at(1))).toEqual(sized(taken));
      // The retire fails (a trigger refuses it): the INSERT before it is rolled back.
      await database.query(
        `create trigger refuse_retire before delete on sessions when old.id = '${old.id}' begin select raise(abort, 'refused'); end`,
      );
      try {
        const next = record({ a: { json: 1 } });
        const error = await database.store.rotate(old.id, next, null, at(1)).catch((e: unknown) => e);
        expect(String((error as Error).cause ?? error)).toMatch(/refused/);
        expect(await database.store.get(next.id, at(1))).toBeNull();
        expect(await database.store.get(old.id, at(1))).toEqual(sized(old));
        expect(await count()).toBe(2);
      } finally {
        await database.query("drop trigger refuse_retire");
      }
      // And the connection is usable (no transaction left open).
      expect(await database.store.patch(old.id, patchAt(1, { z: { json: 0 } }), at(1))).toBe(2);
    });

    it("find matches data on fields without a column, live rows only, newest first, up to limit; deleteWhere keeps exceptId", async () => {
      const a = record({ userId: { json: "u1" } }, { updatedAt: at(1) });
      const b = record({ userId: { json: "u1" } }, { updatedAt: at(2) });
      const c = record({ userId: { json: "u2" } });
      const expired = record({ userId: { json: "u1" } }, { expiresAt: at(5) });
      for (const r of [a, b, c, expired]) await database.store.create(r);
      expect((await database.store.find({ userId: "u1" }, at(5))).map((r) => r.id)).toEqual([b.id, a.id]);
      expect((await database.store.find({ userId: "u1" }, at(5), { limit: 1 })).map((r) => r.id)).toEqual([b.id]);
      expect(await database.store.find({ userId: "nobody" }, at(5))).toEqual([]);
      expect((await database.store.deleteWhere({ userId: "u1" }, { exceptId: a.id })).sort()).toEqual([b.id, expired.id].sort());
      expect(await count()).toBe(2);
      await expect(database.store.deleteWhere({})).rejects.toMatchObject({ code: "SESSION_USAGE" });
      expect(await count()).toBe(2);
    });

    it("find and deleteWhere compare JSON types exactly: true is not 1, '1' is not 1, 1 is not '1'", async () => {
      const rows = {
        boolTrue: record({ flag: { json: true }, n: { json: "1" } }),
        numberOne: record({ flag: { json: 1 }, n: { json: 1 } }),
        stringOne: record({ flag: { json: "1" }, n: { json: 1.5 } }),
        boolFalse: record({ flag: { json: false }, n: { json: 0 } }),
      };
      for (const r of Object.values(rows)) await database.store.create(r);
      const ids = async (where: Record<string, string | number | boolean>) =>
        (await database.store.find(where, t0)).map((r) => r.id);
      expect(await ids({ flag: true })).toEqual([rows.boolTrue.id]);
      expect(await ids({ flag: false })).toEqual([rows.boolFalse.id]);
      expect(await ids({ flag: 1 })).toEqual([rows.numberOne.id]);
      expect(await ids({ flag: "1" })).toEqual([rows.stringOne.id]);
      expect(await ids({ n: 1 })).toEqual([rows.numberOne.id]);
      expect(await ids({ n: "1" })).toEqual([rows.boolTrue.id]);
      expect(await ids({ n: 1.5 })).toEqual([rows.stringOne.id]);
      expect(await ids({ n: 0 })).toEqual([rows.boolFalse.id]);
      expect(await database.store.deleteWhere({ flag: 1 })).toEqual([rows.numberOne.id]);
      await expect(database.store.find({ n: Number.NaN }, t0)).rejects.toMatchObject({ code: "SESSION_USAGE" });
    });

    it("hostile keys (quotes, backslashes, $, ., [, unicode, the empty string) are set, found and deleted as they are", async () => {
      const keys = [
        'a"b',
        "back\\slash",
        "$",
        "$.x",
        ".",
        "[0]",
        "ключ 😀",
        "",
        "tab\tnl\n\u0001",
        "\u2028",
        "'; drop table sessions; --",
      ];
      const r = record({ plain: { json: 1 } });
      await database.store.create(r);
      const set: StoredData = Object.fromEntries(keys.map((key, i) => [key, { json: `${key}:${i}` }]));
      // Values with a lone surrogate and U+0000 (the core refuses them at set(); the store keeps them exactly).
      set.nul = { json: "a\u0000b" };
      set.lone = { json: ["\ud800", "x\udc00y"] };
      expect(await database.store.patch(r.id, patchAt(1, set), at(1))).toBe(2);
      const got = await database.store.get(r.id, at(1));
      expect(got?.data).toEqual({ plain: { json: 1 }, ...set });
      expect(got?.measuredBytes).toBe(measure(got?.data ?? {}));
      expect(await storedBytes(r.id)).toBe(measure(got?.data ?? {}));
      for (const key of keys) {
        expect((await database.store.find({ [key]: `${key}:${keys.indexOf(key)}` }, at(1))).map((x) => x.id)).toEqual([r.id]);
      }
      expect(await database.store.patch(r.id, patchAt(2, {}, [...keys, "nul", "lone"]), at(2))).toBe(3);
      expect((await database.store.get(r.id, at(2)))?.data).toEqual({ plain: { json: 1 } });
      expect(await database.store.replace({ ...r, data: set, updatedAt: at(3) }, at(3))).toBe(4);
      expect((await database.store.get(r.id, at(3)))?.data).toEqual(set);
    });

    it("keys SQLite cannot hold (U+0000, a lone surrogate) are a usage error and nothing is written", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      for (const key of ["a\u0000b", "\ud800", "x\udc00"]) {
        await expect(database.store.patch(r.id, patchAt(1, { [key]: { json: 1 } }), at(1))).rejects.toMatchObject({
          code: "SESSION_USAGE",
        });
        await expect(database.store.create(record({ [key]: { json: 1 } }))).rejects.toMatchObject({ code: "SESSION_USAGE" });
      }
      // A paired surrogate is a character like any other.
      expect(await database.store.patch(r.id, patchAt(1, { "😀": { json: 1 } }), at(1))).toBe(2);
      expect(await count()).toBe(1);
    });

    it("B9: entryBytes summed over a record is the stored text's bytes less one, for random keys and entries (fast-check)", async () => {
      const text = fc.string({ unit: "binary", maxLength: 12 });
      const key = fc.oneof(
        fc.constantFrom("a", "é", "k\u2028", "", '"', "\\"),
        text.filter(
          (s) => !s.includes("\u0000") && !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s),
        ),
      );
      const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
        value: fc.oneof(
          { depthSize: "small" },
          text,
          fc.integer(),
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.constantFrom(1e21, 1.5e-7, -0, 5e-324, 1.7976931348623157e308, 12345678901234567000),
          fc.boolean(),
          fc.constant(null),
          fc.array(tie("value"), { maxLength: 3 }),
          fc.dictionary(text, tie("value"), { maxKeys: 3 }),
        ),
      })).value;
      const entry = fc.record({ json, exp: fc.option(fc.integer({ min: 0 }), { nil: undefined }) }, { requiredKeys: ["json"] });
      const data = fc.dictionary(key, entry, { maxKeys: 5 });
      await fc.assert(
        fc.asyncProperty(data, data, fc.array(key, { maxLength: 3 }), async (initial, set, deleted) => {
          const clean = (d: Record<string, unknown>) => JSON.parse(JSON.stringify(d)) as StoredData;
          const r = record(clean(initial));
          await database.store.create(r);
          expect(await storedBytes(r.id)).toBe(measure(r.data));
          const toDelete = deleted.filter((k) => !Object.hasOwn(set, k));
          expect(await database.store.patch(r.id, patchAt(1, clean(set), toDelete, 2 ** 40), at(1))).toBe(2);
          const got = await database.store.get(r.id, at(1));
          // Through a Map: an own "__proto__" key (JSON.parse makes one) must stay a key, not a prototype.
          const merged = new Map(Object.entries(r.data));
          for (const k of toDelete) merged.delete(k);
          for (const [k, v] of Object.entries(clean(set))) merged.set(k, v);
          const expected = Object.fromEntries(merged);
          expect(got?.data).toEqual(expected);
          expect(await storedBytes(r.id)).toBe(measure(got?.data ?? {}));
          expect(got?.measuredBytes).toBe(measure(got?.data ?? {}));
          await database.store.delete(r.id);
        }),
        { numRuns: 150 },
      );
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
      const bytes = await storedBytes(r.id);
      expect(bytes).toBeLessThanOrEqual(10_000);
      const got = await database.store.get(r.id, at(1));
      expect(Object.keys(got?.data ?? {}).sort()).toEqual(["userId", ...applied.map((i) => `k${i}`)].sort());
      expect(got?.rev).toBe(1 + applied.length);
      expect(measure(got?.data ?? {})).toBe(bytes);
      const key = `k${applied[0]}`;
      expect(await database.store.patch(r.id, patchAt(2, { [key]: { json: "small" } }, [], 10_000), at(2))).toBe(
        2 + applied.length,
      );
    });

    it("B9: too large is told apart from gone; the core's expected size counts only at its rev; a lowered limit still lets a row shrink", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      const error = await database.store.patch(r.id, patchAt(1, { big: kb(0) }, [], 500), at(1)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionTooLargeError);
      expect((error as SessionTooLargeError).bytes).toBe(measure({ a: { json: 1 }, big: kb(0) }));
      expect(await database.store.get(r.id, at(1))).toEqual(sized(r));
      // At the row's rev the core's figure is taken; at another rev the row is measured.
      expect(
        await database.store.patch(r.id, { ...patchAt(1, { big: kb(0) }, [], 500), expected: { rev: 1, bytes: 100 } }, at(1)),
      ).toBe(2);
      const stale = { ...patchAt(2, { more: kb(1) }, [], 500), expected: { rev: 1, bytes: 100 } };
      await expect(database.store.patch(r.id, stale, at(2))).rejects.toBeInstanceOf(SessionTooLargeError);
      // Over the (lowered) limit: growing is refused, shrinking and deleting go through, down to {}.
      await expect(database.store.patch(r.id, patchAt(3, { d: { json: 1 } }, [], 500), at(3))).rejects.toBeInstanceOf(
        SessionTooLargeError,
      );
      expect(await database.store.patch(r.id, patchAt(3, { big: { json: "x" } }, [], 500), at(3))).toBe(3);
      expect(await database.store.patch(r.id, patchAt(4, {}, ["a", "big"], 1), at(4))).toBe(4);
      expect(await storedBytes(r.id)).toBe(0);
      // A limit past SQLite's integers is no limit, not an error.
      expect(await database.store.patch(r.id, patchAt(5, { big: kb(0) }, [], 2 ** 70), at(5))).toBe(5);
      await database.store.delete(r.id);
      expect(await database.store.patch(r.id, patchAt(6, { big: kb(0) }, [], 500), at(6))).toBeNull();
    });

    it("B12: every kind of garbage SQLite's loose typing lets into a row is SessionCorruptError from get", async () => {
      for (const [kind, set] of Object.entries(sqliteGarbage)) {
        const r = record({ a: { json: 1 } });
        await database.store.create(r);
        await database.query(`update sessions set ${set} where id = ?`, [r.id]);
        await expect(database.store.get(r.id, t0), kind).rejects.toBeInstanceOf(SessionCorruptError);
      }
      // find() leaves unreadable rows out instead of failing the whole list.
      const good = record({ userId: { json: "g" } });
      const bad = record({ userId: { json: "g" } });
      await database.store.create(good);
      await database.store.create(bad);
      await database.query("update sessions set created_at = 'garbage' where id = ?", [bad.id]);
      expect((await database.store.find({ userId: "g" }, t0)).map((x) => x.id)).toEqual([good.id]);
      // Nor does a row whose data is not JSON (planted above) fail a lookup or a revoke.
      expect(await database.store.deleteWhere({ userId: "g" }, { exceptId: good.id })).toEqual([bad.id]);
      // A patch of a row whose data is not JSON finds no row to patch (null), not a SQL error.
      const unreadable = record({ a: { json: 1 } });
      await database.store.create(unreadable);
      await database.query("update sessions set data = 'garbage' where id = ?", [unreadable.id]);
      expect(await database.store.patch(unreadable.id, patchAt(1, { b: { json: 2 } }), at(1))).toBeNull();
    });

    it("purgeExpired deletes expired rows in batches, and concurrent purgers delete each row exactly once", async () => {
      for (let i = 0; i < 5; i++) await database.store.create(record({}, { expiresAt: at(i) }));
      for (let i = 0; i < 2; i++) await database.store.create(record({}, { expiresAt: at(100) }));
      const counts = [];
      for (let i = 0; i < 4; i++) counts.push(await database.store.purgeExpired(at(50), 2));
      expect(counts).toEqual([2, 2, 1, 0]);
      expect(await count()).toBe(2);
      await database.query(
        `with recursive g(n) as (select 1 union all select n + 1 from g where n < 200)
         insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
         select 'p' || n, '{}', ?, ?, ?, 1, 1 from g`,
        [t0.getTime(), t0.getTime(), t0.getTime()],
      );
      const purger = async () => {
        let total = 0;
        for (let n = -1; n !== 0; total += n) n = await database.store.purgeExpired(at(1), 7);
        return total;
      };
      const totals = await Promise.all([purger(), purger(), purger()]);
      expect(totals.reduce((x, y) => x + y, 0)).toBe(200);
      expect(await count()).toBe(2);
    });

    it("migrate() run again is a no-op", async () => {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      await migrate(database.db);
      await migrate(database.db);
      expect(await database.store.get(r.id, t0)).toEqual(sized(r));
      expect(Number((await database.query('select count(*) as n from "__tessera_migrations"'))[0]?.n)).toBe(1);
    });
  });

  describe(`drizzleStore on SQLite via ${driver} with indexed columns`, () => {
    let database: SqliteTestDatabase;
    beforeAll(async () => {
      database = await open({
        columns: {
          userId: text("user_id"),
          visits: integer("visits"),
          admin: integer("admin", { mode: "boolean" }),
          score: real("score"),
        },
      });
    });
    afterAll(async () => {
      await database?.close();
    });
    beforeEach(async () => {
      await database.query("delete from sessions");
    });
    const columnsOf = async (id: string) =>
      (await database.query("select user_id, visits, admin, score from sessions where id = ?", [id]))[0];

    it("the generated columns follow every change of data", async () => {
      const r = record({ userId: { json: "u1" }, visits: { json: 3 }, admin: { json: true } });
      await database.store.create(r);
      expect(await columnsOf(r.id)).toEqual({ user_id: "u1", visits: 3, admin: 1, score: null });
      await database.store.patch(r.id, patchAt(1, { userId: { json: "u2" }, score: { json: 0.5 } }, ["visits"]), at(1));
      expect(await columnsOf(r.id)).toEqual({ user_id: "u2", visits: null, admin: 1, score: 0.5 });
      await database.store.replace({ ...r, data: { visits: { json: 9 } } }, at(2));
      expect(await columnsOf(r.id)).toEqual({ user_id: null, visits: 9, admin: null, score: null });
      const next = record({ userId: { json: "u3" } });
      await database.store.rotate(r.id, next, at(10), at(3));
      expect(await columnsOf(r.id)).toEqual({ user_id: null, visits: null, admin: null, score: null });
      expect(await columnsOf(next.id)).toEqual({ user_id: "u3", visits: null, admin: null, score: null });
    });

    it("find and deleteWhere use the indexed columns and still compare JSON types exactly", async () => {
      const a = record({ userId: { json: "u1" }, visits: { json: 1 }, admin: { json: true } });
      const b = record({ userId: { json: "u1" }, visits: { json: 2 } });
      const numberUser = record({ userId: { json: 1 }, visits: { json: "2" }, admin: { json: 1 } });
      for (const r of [a, b, numberUser]) await database.store.create(r);
      const ids = async (where: Record<string, string | number | boolean>) =>
        (await database.store.find(where, t0)).map((r) => r.id);
      expect(await ids({ userId: "u1", visits: 2 })).toEqual([b.id]);
      // The text column holds the number 1 as '1', and the integer column the string "2" as 2:
      // json_type tells them apart.
      expect(await ids({ userId: "1" })).toEqual([]);
      expect(await ids({ userId: 1 })).toEqual([numberUser.id]);
      expect(await ids({ visits: 2 })).toEqual([b.id]);
      expect(await ids({ visits: "2" })).toEqual([numberUser.id]);
      expect(await ids({ admin: true })).toEqual([a.id]);
      expect(await ids({ admin: 1 })).toEqual([numberUser.id]);
      expect(await database.store.deleteWhere({ userId: "u1" }, { exceptId: b.id })).toEqual([a.id]);
    });

    it("a lookup by an indexed field is planned on its index", async () => {
      const plan = await database.query(
        `explain query plan select id from sessions where user_id = 'u42' and expires_at > 0 and successor_id is null order by updated_at desc`,
      );
      expect(JSON.stringify(plan)).toContain("sessions_user_id_idx");
    });

    it("operator queries: stats counts live, expired, recent and sizes, and the top indexed values; countExpired; vacuum", async () => {
      const live = [
        record({ userId: { json: "u1" }, visits: { json: 1 }, admin: { json: true } }, { createdAt: at(-600) }),
        record({ userId: { json: "u1" } }, { createdAt: at(-7200) }),
        record({ userId: { json: "u2" }, note: { json: "x".repeat(300) } }, { createdAt: at(-2 * 86_400) }),
      ];
      const expired = [record({ userId: { json: "u9" } }, { expiresAt: at(-1) }), record({}, { expiresAt: at(-60) })];
      for (const r of [...live, ...expired]) await database.store.create(r);
      const next = record({ userId: { json: "u3" } });
      await database.store.rotate(live[1]?.id as string, next, at(120), t0);
      const stats = await database.store.stats(t0, { top: 1 });
      const sizes = (
        await database.query(
          "select length(cast(data as blob)) as n from sessions where expires_at > ? and successor_id is null order by 1",
          [t0.getTime()],
        )
      ).map((row) => Number(row.n));
      expect(stats).toEqual({
        live: 3,
        expired: 2,
        createdLastHour: 4,
        createdLastDay: 5,
        bytes: { p50: sizes[1], p95: sizes[2], max: sizes[2] },
        top: [
          { field: "userId", values: [{ value: "u1", sessions: 1 }] },
          { field: "visits", values: [{ value: 1, sessions: 1 }] },
          { field: "admin", values: [{ value: true, sessions: 1 }] },
          { field: "score", values: [] },
        ],
      });
      expect(await database.store.countExpired(t0)).toBe(2);
      await database.store.vacuum();
      expect(Number((await database.query("select count(*) as n from sessions"))[0]?.n)).toBe(6);
    });
  });
}

describe("SQLite on one FILE shared by two clients and another process", () => {
  it.each([
    ["libSQL", "libSQL"],
    ["better-sqlite3", "libSQL"],
  ] as const)(
    "50 concurrent writers of different keys through two %s/%s clients all survive while a purger in another process deletes every expired row once",
    async (first, second) => {
      const database = first === "libSQL" ? await openLibsqlFile() : await openBetterSqlite();
      const file = database.file as string;
      const secondClient = second === "libSQL" ? createClient({ url: `file:${file}`, timeout: 5000 }) : undefined;
      const otherStore = drizzleStore({ db: drizzleLibsql({ client: secondClient as ReturnType<typeof createClient> }) });
      try {
        // 2,000 expired rows for the purger, one live session for the writers.
        await database.query(
          `with recursive g(n) as (select 1 union all select n + 1 from g where n < 2000)
         insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
         select 'old' || n, '{"x":{"json":"${"x".repeat(200)}"}}', ?, ?, ?, 1, 1 from g`,
          [t0.getTime(), t0.getTime(), t0.getTime()],
        );
        const r = record({ k0: { json: -1 } });
        await database.store.create(r);
        const purger = await child("sqlite-purger.ts", [file, String(at(1).getTime()), "50"], "ready");
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 === 0 ? database.store : otherStore).patch(r.id, patchAt(1, { [`k${i}`]: { json: i } }), at(1)),
          ),
        );
        expect(results.sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
        // Let the purger finish what is left, then stop it.
        while (
          Number((await database.query("select count(*) as n from sessions where expires_at <= ?", [at(1).getTime()]))[0]?.n) > 0
        ) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await finished(purger.proc);
        const report = JSON.parse(purger.output().split("\n").filter(Boolean).at(-1) as string) as {
          total: number;
          batches: number;
        };
        expect(report.total).toBe(2000);
        const got = await otherStore.get(r.id, at(1));
        for (let i = 0; i < 50; i++) expect(got?.data[`k${i}`]).toEqual({ json: i });
        expect(got?.rev).toBe(51);
        expect(Number((await database.query("select count(*) as n from sessions"))[0]?.n)).toBe(1);
      } finally {
        secondClient?.close();
        await database.close();
      }
    },
    60_000,
  );

  it("migrate() puts a file database in WAL mode, which stays in the file", async () => {
    const database = await openBetterSqlite();
    try {
      const again = new Database(database.file as string);
      expect(again.pragma("journal_mode", { simple: true })).toBe("wal");
      again.close();
    } finally {
      await database.close();
    }
  });

  it("busy timeout: while another process holds the write lock, libSQL with timeout 0 (its default) fails at once with SQLITE_BUSY; with a timeout the write waits (blocking the thread) and lands", async () => {
    const database = await openLibsqlFile();
    const file = database.file as string;
    const impatient = createClient({ url: `file:${file}` });
    const patientBetter = new Database(file);
    try {
      const r = record({ a: { json: 1 } });
      await database.store.create(r);
      const impatientStore = drizzleStore({ db: drizzleLibsql({ client: impatient }) });
      const betterStore = drizzleStore({ db: drizzleBetterSqlite({ client: patientBetter }) });
      const locker = await child("sqlite-locker.ts", [file, "1500"], "locked");
      await expect(impatientStore.patch(r.id, patchAt(1, { b: { json: 2 } }), at(1))).rejects.toMatchObject({
        cause: expect.objectContaining({ code: expect.stringMatching(/SQLITE_BUSY/) }),
      });
      // The patient client (5 s) waits in SQLite's busy handler, synchronously, until the locker commits.
      expect(await database.store.patch(r.id, patchAt(2, { c: { json: 3 } }), at(2))).toBe(2);
      expect(locker.output()).toContain("locked");
      await finished(locker.proc);
      // better-sqlite3 waits 5 s by default.
      expect(patientBetter.pragma("busy_timeout", { simple: true })).toBe(5000);
      expect(await betterStore.patch(r.id, patchAt(3, { d: { json: 4 } }), at(3))).toBe(3);
      expect((await betterStore.get(r.id, at(3)))?.data).toEqual({ a: { json: 1 }, c: { json: 3 }, d: { json: 4 } });
    } finally {
      impatient.close();
      patientBetter.close();
      await database.close();
    }
  }, 30_000);
});

describe("sqlite sessionsTable and drizzleStore options", () => {
  it("a sqliteTable without the session columns throws a CONFIG error", () => {
    const client = new Database(":memory:");
    const table = sqliteTable("sessions", { id: text("id").primaryKey() });
    expect(() => drizzleStore({ db: drizzleBetterSqlite({ client }), table: table as never })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
    client.close();
  });

  it("sessionsTable rejects field names that are not plain identifiers or clash, NOT NULL and non-indexable columns", () => {
    for (const field of ["$userId", "user-id", "a'b", "1x", "data", "expiresAt"]) {
      expect(() => sessionsTable("s", { columns: { [field]: text() } })).toThrow(expect.objectContaining({ code: "CONFIG" }));
    }
    expect(() => sessionsTable("s", { columns: { userId: text("user_id").notNull() } })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
    expect(() => sessionsTable("s", { columns: { lastSeen: integer("last_seen", { mode: "timestamp_ms" }) } })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
    expect(() => sessionsTable("s", { columns: { prefs: text("prefs", { mode: "json" }) } })).toThrow(
      expect.objectContaining({ code: "CONFIG" }),
    );
  });

  it("two stores on differently named tables of one database keep apart", async () => {
    const database = await openLibsqlMemory();
    try {
      const other = sessionsTable("other_sessions");
      await createSqliteTable(database.query, other);
      const otherStore = drizzleStore({ db: database.db, table: other });
      const r = record({ a: { json: 1 } });
      await otherStore.create(r);
      expect(await otherStore.get(r.id, t0)).toEqual(sized(r));
      expect(await database.store.get(r.id, t0)).toBeNull();
      expect(await otherStore.patch(r.id, patchAt(1, { b: { json: 2 } }), at(1))).toBe(2);
    } finally {
      await database.close();
    }
  });

  it("rotate on an async driver without db.batch takes an interactive BEGIN IMMEDIATE transaction, atomically", async () => {
    const database = await openLibsqlFile();
    try {
      // The libSQL database seen as a driver that has no batch (another async SQLite driver).
      const noBatch = Object.create(database.db, { batch: { value: undefined } }) as SqliteDb;
      const store = drizzleStore({ db: noBatch });
      const old = record({ a: { json: 1 } });
      await store.create(old);
      const next = record({ a: { json: 1 } });
      expect(await store.rotate(old.id, next, at(10), at(1))).toBe(true);
      expect(await store.get(old.id, at(1))).toMatchObject({ data: {}, successorId: next.id });
      // A failing INSERT (the id exists) changes nothing.
      await expect(store.rotate(next.id, { ...old, id: old.id }, null, at(1))).rejects.toThrow();
      expect(await store.get(next.id, at(1))).toEqual(sized(next));
    } finally {
      await database.close();
    }
  });

  it("get, patch, replace and touch on clients that give integers as BigInt or text, and on a client the store does not know (through Drizzle)", async () => {
    const bigints = new Database(":memory:");
    bigints.defaultSafeIntegers(true);
    const libsql = createClient({ url: ":memory:" });
    // A libSQL client as another driver would look: the store runs its statements through
    // Drizzle's prepared queries instead of on the client.
    const unknown = new Proxy(libsql, {
      get: (target, key) => {
        if (key === "protocol") return undefined;
        const value = Reflect.get(target, key);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const clients: [string, SqliteDb, () => void][] = [
      ["better-sqlite3 safeIntegers", drizzleBetterSqlite({ client: bigints }), () => bigints.close()],
      ...(["bigint", "string"] as const).map((intMode): [string, SqliteDb, () => void] => {
        const client = createClient({ url: ":memory:", intMode });
        return [`libSQL intMode ${intMode}`, drizzleLibsql({ client }), () => client.close()];
      }),
      ["an unknown client", drizzleLibsql({ client: unknown }), () => libsql.close()],
    ];
    for (const [name, db, close] of clients) {
      try {
        await migrate(db);
        const store = drizzleStore({ db });
        const r = record({ a: { json: 1 }, b: { json: "x" } }, { absoluteExpiresAt: at(7200) });
        await store.create(r);
        expect(await store.get(r.id, t0), name).toEqual(sized(r));
        const patch = { ...patchAt(1, { c: { json: [1, 2] } }, ["a"]), expected: { rev: 1, bytes: 100 } };
        expect(await store.patch(r.id, patch, at(1)), name).toBe(2);
        expect(await store.touch(r.id, at(9000), at(1)), name).toBe(true);
        const got = await store.get(r.id, at(1));
        expect(got, name).toMatchObject({ data: { b: { json: "x" }, c: { json: [1, 2] } }, rev: 2, expiresAt: at(9000) });
        expect(got?.measuredBytes, name).toBe(got && sized(got).measuredBytes);
        expect(await store.replace({ ...r, data: { d: { json: true } }, updatedAt: at(2) }, at(2)), name).toBe(3);
        expect((await store.get(r.id, at(2)))?.data, name).toEqual({ d: { json: true } });
      } finally {
        close();
      }
    }
  });

  it("a store built before migrate() works once the table exists (statements are prepared on first use)", async () => {
    const client = new Database(":memory:");
    const db = drizzleBetterSqlite({ client });
    const store = drizzleStore({ db });
    await migrate(db);
    const r = record({ a: { json: 1 } });
    await store.create(r);
    expect(await store.get(r.id, t0)).toEqual(sized(r));
    client.close();
  });
});
