/**
 * Issue 16 attack on the SQLite store: a sessions table with a column named `rowid` (an indexed
 * field `text("rowid")`, or any extra column). SQLite then resolves `rowid` to that column, not
 * to the row's key, and `purgeExpired`'s `DELETE ... WHERE rowid IN (SELECT rowid ... expired)`
 * deleted every session sharing an expired one's value: live sessions were purged.
 */
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import type { StoredSession } from "../../src/store.js";
import { drizzleStore } from "../../src/stores/drizzle/index.js";
import { sessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import { openBetterSqlite, openLibsqlFile, openLibsqlMemory, type SqliteOpenOptions } from "../helpers/sqlite-databases.js";

const t0 = new Date("2026-01-01T12:00:00.000Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const record = (id: string, tenant: string, expiresAt: Date): StoredSession => ({
  id,
  data: { tenant: { json: tenant } },
  expiresAt,
  absoluteExpiresAt: null,
  createdAt: t0,
  updatedAt: t0,
  schemaVersion: 1,
  rev: 1,
  successorId: null,
});

const drivers = [
  ["libSQL (file)", openLibsqlFile],
  ["libSQL (:memory:)", openLibsqlMemory],
  ["better-sqlite3 (file)", openBetterSqlite],
] as const;

for (const [driver, open] of drivers) {
  describe(`issue 16 SQLite, a column named rowid: ${driver}`, () => {
    for (const name of ["rowid", "ROWID", "oid", "_rowid_"]) {
      it(`indexed field in a column "${name}": purgeExpired deletes the expired session only, never a live one`, async () => {
        const database = await open({
          table: sessionsTable("sessions", { columns: { tenant: text(name) } }),
        } as SqliteOpenOptions);
        try {
          await database.store.create(record("live", "acme", at(3600)));
          await database.store.create(record("dead", "acme", at(1)));
          await database.store.create(record("other", "zeta", at(3600)));
          expect(await database.store.purgeExpired(at(10), 100)).toBe(1);
          expect((await database.query("select id from sessions order by id")).map((row) => row.id)).toEqual(["live", "other"]);
          // Through the operator API too.
          const sessions = defineSession({ schema: z.object({ tenant: z.string() }), store: database.store });
          await database.store.create(record("dead2", "zeta", at(15)));
          expect(await sessions.operator.purge({ now: at(20) })).toBe(1);
          expect((await database.query("select id from sessions order by id")).map((row) => row.id)).toEqual(["live", "other"]);
        } finally {
          await database.close();
        }
      });
    }
  });
}

describe("issue 16 SQLite, every rowid alias taken by a column", () => {
  it("drizzleStore refuses the table (CONFIG) instead of purging by a user's column", async () => {
    const table = sqliteTable("s", {
      id: text("id").primaryKey(),
      data: text("data").notNull(),
      expiresAt: integer("expires_at").notNull(),
      absoluteExpiresAt: integer("absolute_expires_at"),
      createdAt: integer("created_at").notNull(),
      updatedAt: integer("updated_at").notNull(),
      schemaVersion: integer("schema_version").notNull(),
      rev: integer("rev").notNull(),
      successorId: text("successor_id"),
      rowid: integer("RowId"),
      oid: integer("oid"),
      _rowid_: integer("_rowid_"),
    });
    const database = await openLibsqlMemory();
    try {
      expect(() => drizzleStore({ db: database.db, table: table as never })).toThrow(expect.objectContaining({ code: "CONFIG" }));
    } finally {
      await database.close();
    }
  });
});
