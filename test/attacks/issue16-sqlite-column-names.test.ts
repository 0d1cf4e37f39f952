/**
 * Issue 16 attack on the SQLite `sessionsTable`: indexed fields whose column names clash. Before
 * the fix, two fields on one column name (`a: text("x"), b: text("x")`) gave drizzle-kit one
 * column `x` generated from `b`, so `find({ a: "bob" })` and `revoke({ where: { a: "bob" } })`
 * matched the session whose `a` is "alice" and whose `b` is "bob"; a field on a base column's
 * name (`text("id")`, `integer("expires_at")`) silently replaced that column in the DDL (a table
 * with no primary key). SQLite names are case-insensitive, so "X" and "x" clash too.
 */
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { integer, text } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { drizzleStore } from "../../src/stores/drizzle/index.js";
import { sessionsTable } from "../../src/stores/drizzle/sqlite/index.js";
import { sqliteDdl } from "../helpers/sqlite-databases.js";

describe("issue 16 SQLite sessionsTable: clashing column names", () => {
  const clashes = {
    "two fields on one column": () => ({ a: text("x"), b: text("x") }),
    "two fields on one column, another case": () => ({ a: text("X"), b: text("x") }),
    "a field on the id column": () => ({ userId: text("id") }),
    "a field on the expires_at column, another case": () => ({ userId: integer("EXPIRES_AT") }),
    "a field on the successor_id column": () => ({ userId: text("successor_id") }),
    "a field on the data column": () => ({ userId: text("data") }),
  };
  for (const [label, columns] of Object.entries(clashes)) {
    it(`${label}: a CONFIG error`, () => {
      expect(() => sessionsTable("sessions", { columns: columns() })).toThrow(expect.objectContaining({ code: "CONFIG" }));
    });
  }

  it("distinct names still work, and a lookup by one field never matches another field's value", async () => {
    const table = sessionsTable("sessions", { columns: { a: text("a_col"), b: text("b_col") } });
    const client = new Database(":memory:");
    try {
      for (const statement of await sqliteDdl(table)) client.exec(statement);
      const store = drizzleStore({ db: drizzle({ client }), table });
      const now = new Date();
      await store.create({
        id: "s1",
        data: { a: { json: "alice" }, b: { json: "bob" } },
        expiresAt: new Date(now.getTime() + 60_000),
        absoluteExpiresAt: null,
        createdAt: now,
        updatedAt: now,
        schemaVersion: 1,
        rev: 1,
        successorId: null,
      });
      expect(await store.find({ a: "bob" }, now)).toEqual([]);
      expect((await store.find({ a: "alice" }, now)).map((r) => r.id)).toEqual(["s1"]);
      expect(await store.deleteWhere({ a: "bob" })).toEqual([]);
    } finally {
      client.close();
    }
  });
});
