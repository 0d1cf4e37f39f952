/**
 * Issue 16 attack on the SQLite store: rows whose `data` is a JSON object but whose entries are
 * not `{ json, ... }` objects (a hand-written or old row: `{"userId":"u1"}`), planted with raw SQL.
 * Before the fix, SQLite's JSON functions raised "malformed JSON" on such an entry: every
 * `findMany`/`revoke` by that field failed for every user (the `json_each` lookup read the entry
 * as JSON text), and every write to the session failed as an outage (the patch re-parsed each
 * kept entry with `json()`), although `get` loads it and the core drops the bad key.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import { tokenOf } from "../helpers/cookies.js";
import {
  openBetterSqlite,
  openLibsqlFile,
  openLibsqlMemory,
  type SqliteOpenOptions,
  type SqliteTestDatabase,
} from "../helpers/sqlite-databases.js";

const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).optional(), n: z.number().optional() });
const jar = (value?: string) => ({ get: (name: string) => (name === "sid" && value !== undefined ? { value } : undefined) });

const drivers: [string, (options?: SqliteOpenOptions) => Promise<SqliteTestDatabase>][] = [
  ["libSQL (file)", openLibsqlFile],
  ["libSQL (:memory:)", openLibsqlMemory],
  ["better-sqlite3 (file)", openBetterSqlite],
];

for (const [driver, open] of drivers) {
  describe(`issue 16 SQLite, entries that are not objects: ${driver}`, () => {
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
    const sessions = () => defineSession({ schema, store: database.store, cookie: { name: "sid", secure: true } });

    async function login(userId: string): Promise<string> {
      const s = await sessions().load(jar());
      s.set("userId", userId);
      return tokenOf(await s.commit());
    }
    const idOf = async (userId: string) =>
      (await database.query("select id from sessions where json_extract(data, '$.userId.json') = ?", [userId]))[0]?.id as string;

    // Every kind of JSON value that is not an entry object, as SQLite's json_set plants it.
    const plants: Record<string, string> = {
      "a string": "'u-raw'",
      "a string that is JSON text": `'{"json":"u2"}'`,
      "a number": "1e+21",
      true: "json('true')",
      null: "json('null')",
      "an array of strings": `json('["a","b"]')`,
    };

    for (const [kind, value] of Object.entries(plants)) {
      it(`one row whose userId entry is ${kind}: findMany and revoke by userId still work for everyone`, async () => {
        await login("victim");
        const other = await login("u2");
        const victimId = await idOf("victim");
        await database.query(`update sessions set data = json_set(data, '$.userId', ${value}) where id = ?`, [victimId]);

        const found = await sessions().findMany({ where: { userId: "u2" } });
        expect(found.map((s) => s.data.userId)).toEqual(["u2"]);
        expect(await sessions().revoke({ where: { userId: "u2" } })).toBe(1);
        expect(await sessions().get(other)).toBeNull();
        // The planted row is no session of u2: it was not revoked.
        expect(await database.query("select id from sessions")).toEqual([{ id: victimId }]);
      });

      it(`a session whose entry is ${kind} still takes writes of its other keys (the bad key is the core's to drop)`, async () => {
        const token = await login("victim");
        const id = await idOf("victim");
        await database.query(`update sessions set data = json_set(data, '$.userId', ${value}) where id = ?`, [id]);

        const s = await sessions().load(jar(token));
        expect(s.isNew).toBe(false);
        s.set("cart", ["book"]);
        await s.commit();
        const again = await sessions().load(jar(token));
        expect(again.get("cart")).toEqual(["book"]);
        expect(again.get("userId")).toBeUndefined();
        // And one that reads the bad key drops it with its write.
        again.set("n", 1);
        await again.commit();
        const [row] = await database.query("select json_extract(data, '$.n.json') as n from sessions where id = ?", [id]);
        expect(row).toEqual({ n: 1 });
      });
    }
  });
}
