/**
 * Issue 16 attack on the SQLite store's operator queries: an indexed integer column holding a
 * value past 2^53 (a session's `visits: 2 ** 53`, or a boolean-mode column given a big number).
 * libSQL's client throws RangeError on any integer it cannot hold as a JavaScript number, so
 * `stats()` (`tesserae stats`, `operator.stats()`) failed for the whole table on one such session.
 */
import { integer, numeric, real, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import type { StoredSession } from "../../src/store.js";
import { openBetterSqlite, openLibsqlFile, openLibsqlMemory } from "../helpers/sqlite-databases.js";

const t0 = new Date("2026-01-01T12:00:00.000Z");
const record = (id: string, data: StoredSession["data"]): StoredSession => ({
  id,
  data,
  expiresAt: new Date(t0.getTime() + 3_600_000),
  absoluteExpiresAt: null,
  createdAt: t0,
  updatedAt: t0,
  schemaVersion: 1,
  rev: 1,
  successorId: null,
});
const columns = {
  visits: integer("visits"),
  admin: integer("admin", { mode: "boolean" }),
  n: numeric("n"),
  score: real("score"),
  userId: text("user_id"),
};

for (const [driver, open] of [
  ["libSQL (file)", openLibsqlFile],
  ["libSQL (:memory:)", openLibsqlMemory],
  ["better-sqlite3 (file)", openBetterSqlite],
] as const) {
  describe(`issue 16 SQLite stats with integers past 2^53: ${driver}`, () => {
    it("stats() and operator.stats() report them (as the nearest number) instead of failing", async () => {
      const database = await open({ columns });
      try {
        const big = 2 ** 53;
        await database.store.create(record("a", { visits: { json: big }, n: { json: -(2 ** 60) }, userId: { json: "u1" } }));
        await database.store.create(record("b", { visits: { json: big }, admin: { json: true } }));
        await database.store.create(record("c", { visits: { json: 7 }, score: { json: 2 ** 62 } }));
        const stats = await database.store.stats(t0, { top: 5 });
        expect(stats.live).toBe(3);
        expect(stats.top.find((t) => t.field === "visits")?.values).toEqual([
          { value: big, sessions: 2 },
          { value: 7, sessions: 1 },
        ]);
        expect(stats.top.find((t) => t.field === "n")?.values.map((v) => Number(v.value))).toEqual([-(2 ** 60)]);
        expect(stats.top.find((t) => t.field === "score")?.values).toEqual([{ value: 2 ** 62, sessions: 1 }]);
        const sessions = defineSession({ schema: z.object({ visits: z.number() }), store: database.store });
        expect((await sessions.operator.stats({ top: 1, now: t0 }))?.top[0]?.values).toEqual([{ value: 2 ** 53, sessions: 2 }]);
      } finally {
        await database.close();
      }
    });
  });
}
