/**
 * Issue 16 attack on the MySQL/MariaDB store: a `where` string on an indexed number or boolean
 * column, as the CLI's `--where field=value` sends one (`:=` is for JSON numbers and booleans).
 * MySQL compares a string with a number by converting its leading digits, so the filter must
 * not match sessions it never named (Postgres refuses such a filter or compares exactly).
 */
import { boolean, double, int } from "drizzle-orm/mysql-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { RECORD_NOW as now, storedRecord } from "../helpers/records.js";

describe.skipIf(!mysqlUrl)("MySQL store: where strings on indexed int, boolean and double columns", () => {
  let database: MysqlTestDatabase;
  beforeAll(async () => {
    database = await openMysql(mysqlUrl ?? "", { columns: { n: int("n"), admin: boolean("admin"), x: double("x") } });
  }, 60_000);
  afterAll(() => database?.close());

  // Found: { n: "abc" } matched n = 0, { n: "7abc" } matched 7, and { admin: "true" } (the CLI's
  // `--where admin=true`) matched the sessions whose admin is false: revoke took the wrong users.
  it("matches only a value whose text the string is; 'true'/'false' on a boolean column are booleans", async () => {
    const { store } = database;
    const zero = storedRecord({ data: { n: { json: 0 }, admin: { json: false }, x: { json: 0 } } });
    const seven = storedRecord({ data: { n: { json: 7 }, admin: { json: true }, x: { json: 1.5 } } });
    for (const record of [zero, seven]) await store.create(record);
    const names = async (where: Record<string, string | number | boolean>) =>
      (await store.find(where, now)).map((r) => (r.id === zero.id ? "zero" : "seven"));

    expect(await names({ n: "abc" })).toEqual([]);
    expect(await names({ n: "7abc" })).toEqual([]);
    expect(await names({ n: " 7" })).toEqual([]);
    expect(await names({ x: "1.5x" })).toEqual([]);
    expect(await names({ admin: "yes" })).toEqual([]);
    expect(await names({ admin: "true" })).toEqual(["seven"]);
    expect(await names({ admin: "false" })).toEqual(["zero"]);
    expect(await names({ n: "7" })).toEqual(["seven"]);
    expect(await names({ n: 7 })).toEqual(["seven"]);
    expect(await names({ n: 0 })).toEqual(["zero"]);
    expect(await names({ x: "1.5" })).toEqual(["seven"]);
    expect(await names({ admin: true })).toEqual(["seven"]);

    expect(await store.deleteWhere({ admin: "true" })).toEqual([seven.id]);
    expect(await store.get(zero.id, now)).not.toBeNull();
  });
});
