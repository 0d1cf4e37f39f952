/**
 * Issue 16 attack on the MySQL/MariaDB store: a pool whose connections run without STRICT
 * sql_mode (common on older MySQL set-ups). MariaDB then stores a value longer than an indexed
 * varchar(n) cut to n characters, with a warning instead of an error; findMany and revoke must
 * still find exactly the sessions whose field equals the value asked for.
 */
import { varchar } from "drizzle-orm/mysql-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { RECORD_NOW as now, storedRecord } from "../helpers/records.js";

describe.skipIf(!mysqlUrl)("MySQL store with sql_mode = '' and an indexed varchar(8)", () => {
  let database: MysqlTestDatabase;
  beforeAll(async () => {
    database = await openMysql(mysqlUrl ?? "", {
      columns: { userId: varchar("user_id", { length: 8 }) },
      onConnect: ["set sql_mode = ''"],
    });
  }, 60_000);
  afterAll(() => database?.close());
  beforeEach(async () => {
    await database.query("delete from sessions");
  });

  // Found: the 13-character value was stored as '01234567' in user_id, so findMany/revoke for
  // "0123456789abc" found nothing (sign-out everywhere left the session alive), and findMany/revoke
  // for "01234567" took the other user's session.
  it("a value longer than the column: found and revoked by its whole value, never by its first n characters", async () => {
    const { store } = database;
    const long = storedRecord({ data: { userId: { json: "0123456789abc" } } });
    const short = storedRecord({ data: { userId: { json: "01234567" } } });
    const longEmoji = storedRecord({ data: { userId: { json: "😀😀😀😀😀😀😀😀😀" } } });
    for (const record of [long, short, longEmoji]) await store.create(record);
    expect((await database.query("select user_id from sessions where id = ?", [long.id]))[0]?.user_id).toBe("01234567");

    expect((await store.find({ userId: "0123456789abc" }, now)).map((r) => r.id)).toEqual([long.id]);
    expect((await store.find({ userId: "01234567" }, now)).map((r) => r.id)).toEqual([short.id]);
    expect((await store.find({ userId: "😀😀😀😀😀😀😀😀😀" }, now)).map((r) => r.id)).toEqual([longEmoji.id]);
    expect(await store.find({ userId: "😀😀😀😀😀😀😀😀" }, now)).toEqual([]);

    expect(await store.deleteWhere({ userId: "01234567" })).toEqual([short.id]);
    expect(await store.deleteWhere({ userId: "0123456789abc" })).toEqual([long.id]);
    expect(await store.get(long.id, now)).toBeNull();
  });

  it("values that fit behave as before: exact, case-sensitive, numbers compared as their text", async () => {
    const { store } = database;
    const a = storedRecord({ data: { userId: { json: "U1" } } });
    const b = storedRecord({ data: { userId: { json: "u1" } } });
    const c = storedRecord({ data: { userId: { json: 42 } } });
    for (const record of [a, b, c]) await store.create(record);
    expect((await store.find({ userId: "u1" }, now)).map((r) => r.id)).toEqual([b.id]);
    expect((await store.find({ userId: 42 }, now)).map((r) => r.id)).toEqual([c.id]);
    expect((await store.find({ userId: "42" }, now)).map((r) => r.id)).toEqual([c.id]);
  });
});
