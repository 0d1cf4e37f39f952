import { varchar } from "drizzle-orm/mysql-core";
import { text } from "drizzle-orm/pg-core";
import { describe, expect, it } from "vitest";
import { SessionConfigError } from "../../src/errors.js";
import { sessionsTable } from "../../src/stores/drizzle/index.js";
import { sessionsTable as mysqlSessionsTable } from "../../src/stores/drizzle/mysql/index.js";

// The SQLite attack found two indexed fields on one column name, or a field on a base column's
// name, turned into one column by drizzle-kit (find({ a }) then compared b's values); the same
// check on Postgres and MySQL (test/attacks/issue16-sqlite-column-names.test.ts for SQLite).
describe("issue 16: sessionsTable refuses an indexed column whose name another column already has", () => {
  it("Postgres: two fields on one column, or a field on id / expires_at", () => {
    expect(() => sessionsTable("s", { columns: { a: text("x"), b: text("x") } })).toThrow(SessionConfigError);
    expect(() => sessionsTable("s", { columns: { userId: text("id") } })).toThrow(SessionConfigError);
    expect(() => sessionsTable("s", { columns: { userId: text("expires_at") } })).toThrow(/already a column/);
    // Postgres quotes the names drizzle writes: "X" and "x" are two columns.
    expect(() => sessionsTable("s", { columns: { a: text("X"), b: text("x") } })).not.toThrow();
  });

  it("MySQL: the same, ignoring case as MySQL does", () => {
    expect(() =>
      mysqlSessionsTable("s", { columns: { a: varchar("x", { length: 9 }), b: varchar("X", { length: 9 }) } }),
    ).toThrow(SessionConfigError);
    expect(() => mysqlSessionsTable("s", { columns: { userId: varchar("ID", { length: 9 }) } })).toThrow(/already a column/);
    expect(() =>
      mysqlSessionsTable("s", { columns: { a: varchar("x", { length: 9 }), b: varchar("y", { length: 9 }) } }),
    ).not.toThrow();
  });
});
