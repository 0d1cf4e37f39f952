/**
 * Issue 16 attack on the SQLite store's operator queries: an indexed integer column holding a
 * value past 2^53 (a session's `visits: 2 ** 53`, or a boolean-mode column given a big number).
 * libSQL's client throws RangeError on any integer it cannot hold as a JavaScript number, so
 * `stats()` (`tesserae stats`, `operator.stats()`) failed for the whole table on one such session.
 */
import { createClient } from "@libsql/client";
import Database from "better-sqlite3";
import { drizzle as drizzleBetterSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import { integer, numeric, real, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import type { StoredSession } from "../../src/store.js";
import { drizzleStore, type SqliteDb } from "../../src/stores/drizzle/index.js";
import { sessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import { openBetterSqlite, openLibsqlFile, openLibsqlMemory, sqliteDdl } from "../helpers/sqlite-databases.js";

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

describe("issue 16 SQLite stats on clients that read integers as BigInt or text", () => {
  const table = sessionsTable("sessions", { columns });
  const clients: [string, () => Promise<{ db: SqliteDb; exec(statement: string): Promise<void>; close(): void }>][] = [
    [
      "better-sqlite3 with defaultSafeIntegers",
      async () => {
        const client = new Database(":memory:");
        client.defaultSafeIntegers(true);
        return { db: drizzleBetterSqlite({ client }), exec: async (s) => void client.exec(s), close: () => client.close() };
      },
    ],
    ...(["bigint", "string"] as const).map(
      (intMode) =>
        [
          `libSQL with intMode "${intMode}"`,
          async () => {
            const client = createClient({ url: ":memory:", intMode });
            return {
              db: drizzleLibsql({ client }),
              exec: async (s: string) => void (await client.execute(s)),
              close: () => client.close(),
            };
          },
        ] as [string, () => Promise<{ db: SqliteDb; exec(statement: string): Promise<void>; close(): void }>],
    ),
  ];
  for (const [label, open] of clients) {
    it(`${label}: the top values of number columns are numbers`, async () => {
      const { db, exec, close } = await open();
      try {
        for (const statement of await sqliteDdl(table)) await exec(statement);
        const store = drizzleStore({ db, table });
        await store.create(record("a", { visits: { json: 4 }, admin: { json: true }, n: { json: 5 } }));
        const stats = await store.stats(t0, { top: 1 });
        expect(stats.live).toBe(1);
        expect(stats.top.find((t) => t.field === "visits")?.values).toEqual([{ value: 4, sessions: 1 }]);
        expect(stats.top.find((t) => t.field === "admin")?.values).toEqual([{ value: true, sessions: 1 }]);
      } finally {
        close();
      }
    });
  }
});
