/**
 * Issue 16 attack on the SQLite store: custom table names (quotes, spaces, a name that is one of
 * the store's own SQL names). The patch statement's one-row CTE was called `p`, and a CTE shadows
 * a table of its name: on a table called "p" (or "P") every patch failed with "no such column".
 * Every method is run on each name, with an indexed column (its index and generated column too).
 */
import { text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import type { StoredSession } from "../../src/store.js";
import { sessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import { openBetterSqlite, openLibsqlMemory } from "../helpers/sqlite-databases.js";

const t0 = new Date("2026-01-01T12:00:00.000Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const record = (id: string, data: StoredSession["data"]): StoredSession => ({
  id,
  data,
  expiresAt: at(3600),
  absoluteExpiresAt: null,
  createdAt: t0,
  updatedAt: t0,
  schemaVersion: 1,
  rev: 1,
  successorId: null,
});
const patchAt = (seconds: number, set: StoredSession["data"]) => ({
  set,
  deleted: [],
  expiresAt: at(seconds + 3600),
  updatedAt: at(seconds),
  schemaVersion: 1,
  maxBytes: 65536,
});

for (const [driver, open] of [
  ["libSQL (:memory:)", openLibsqlMemory],
  ["better-sqlite3 (file)", openBetterSqlite],
] as const) {
  describe(`issue 16 SQLite table names: ${driver}`, () => {
    for (const name of ["p", "P", "tessera_patch", "m", "o", "n", "my sessions", 'we"ird', "sessions'x", "select"]) {
      it(`every method works on a table named ${JSON.stringify(name)}`, async () => {
        const database = await open({ table: sessionsTable(name, { columns: { userId: text("user_id") } }) });
        const store = database.store;
        try {
          await store.create(record("a", { userId: { json: "u1" } }));
          expect(await store.patch("a", patchAt(1, { cart: { json: [1] } }), at(1))).toBe(2);
          expect(
            await store.replace({ ...record("a", { userId: { json: "u1" }, x: { json: 1 } }), updatedAt: at(2) }, at(2)),
          ).toBe(3);
          expect(await store.touch("a", at(9000), at(3))).toBe(true);
          expect((await store.get("a", at(3)))?.data).toEqual({ userId: { json: "u1" }, x: { json: 1 } });
          expect(await store.rotate("a", record("b", { userId: { json: "u1" } }), at(60), at(4))).toBe(true);
          expect((await store.find({ userId: "u1" }, at(5))).map((r) => r.id)).toEqual(["b"]);
          expect((await store.find({ x: 1 }, at(5))).map((r) => r.id)).toEqual([]);
          expect((await store.stats(at(5), { top: 1 })).live).toBe(1);
          expect(await store.countExpired(at(5))).toBe(0);
          expect(await store.purgeExpired(at(100), 10)).toBe(1);
          await store.vacuum();
          expect(await store.deleteWhere({ userId: "u1" })).toEqual(["b"]);
        } finally {
          await database.close();
        }
      });
    }
  });
}
