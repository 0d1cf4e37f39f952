/**
 * Issue 16 attack on the SQLite store's patch, directly through the store: a row whose data is a
 * JSON object with an entry that is not an object (planted with raw SQL), or whose data is valid
 * JSON but no object. Before the fix the patch's merge re-parsed every kept entry with `json()`:
 * a string entry raised "malformed JSON" (a SQL error, an outage, where Postgres merges), `true`
 * was silently rewritten as `1`, and data that is a JSON array of strings failed the same way
 * instead of taking no patch (null) as the store documents for rows `get` calls corrupt.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { SessionPatch, StoredData, StoredSession } from "../../src/store.js";
import {
  openBetterSqlite,
  openLibsqlFile,
  openLibsqlMemory,
  type SqliteOpenOptions,
  type SqliteTestDatabase,
} from "../helpers/sqlite-databases.js";

const t0 = new Date("2026-01-01T12:00:00.000Z");
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);
const patchOf = (set: StoredData): SessionPatch => ({
  set,
  deleted: [],
  expiresAt: at(7200),
  updatedAt: at(1),
  schemaVersion: 1,
  maxBytes: 65536,
});
const record = (id: string, data: StoredData): StoredSession => ({
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

const drivers: [string, (options?: SqliteOpenOptions) => Promise<SqliteTestDatabase>][] = [
  ["libSQL (file)", openLibsqlFile],
  ["libSQL (:memory:)", openLibsqlMemory],
  ["better-sqlite3 (file)", openBetterSqlite],
];

// Every kind of JSON value that is not an entry object, as SQLite's json_set plants it.
const plants: Record<string, string> = {
  "a string": "'u-raw'",
  "a string that is JSON text": `'{"json":"u2"}'`,
  "a number": "1e+21",
  true: "json('true')",
  false: "json('false')",
  null: "json('null')",
  "an array of strings": `json('["a","b"]')`,
};

for (const [driver, open] of drivers) {
  describe(`issue 16 SQLite patch of rows holding garbage: ${driver}`, () => {
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
    const entryOf = async (id: string) =>
      (
        await database.query(
          "select json_extract(data, '$.userId') as v, json_type(data, '$.userId') as t from sessions where id = ?",
          [id],
        )
      )[0];

    for (const [kind, value] of Object.entries(plants)) {
      it(`a patch of another key of a row whose entry is ${kind} applies, and keeps that entry's JSON value`, async () => {
        await database.store.create(record("r", { userId: { json: "u1" } }));
        await database.query(`update sessions set data = json_set(data, '$.userId', ${value}) where id = 'r'`);
        const before = await entryOf("r");
        expect(await database.store.patch("r", patchOf({ cart: { json: ["x"] } }), at(1))).toBe(2);
        expect(await entryOf("r")).toEqual(before);
        expect((await database.store.get("r", at(1)))?.data.cart).toEqual({ json: ["x"] });
      });
    }

    it("a row whose data is valid JSON but no object (array, string, null, number, a blob) takes no patch: null, never a SQL error", async () => {
      await database.store.create(record("r", { userId: { json: "u1" } }));
      for (const data of [`'["a",{"json":1}]'`, `'"text"'`, "'null'", "'7'", "x'7b7d'"]) {
        await database.query(`update sessions set data = ${data}, rev = 1 where id = 'r'`);
        expect(await database.store.patch("r", patchOf({ cart: { json: ["x"] } }), at(1)), data).toBeNull();
        expect(Number((await database.query("select rev from sessions where id = 'r'"))[0]?.rev), data).toBe(1);
      }
    });
  });
}
