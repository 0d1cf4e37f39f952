/**
 * Issue 16 attack on the SQLite store: `where` values and fields holding a lone surrogate (any
 * JSON request body can carry `"\ud800"`; the core refuses them in stored values, not in a
 * filter). libSQL's native layer binds such a string as UTF-8 with U+FFFD in its place, so
 * `revoke({ where: { userId: "\udfff" } })` deleted the sessions of the user whose id is "\ufffd",
 * and `findMany` listed them: another user's sessions. The store now refuses such a filter.
 */

import { text } from "drizzle-orm/sqlite-core";
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

const schema = z.object({ userId: z.string().optional(), "\ufffd": z.string().optional() });
const jar = (value?: string) => ({ get: (name: string) => (name === "sid" && value !== undefined ? { value } : undefined) });

const setups: [string, (options?: SqliteOpenOptions) => Promise<SqliteTestDatabase>, SqliteOpenOptions][] = [
  ["libSQL (file)", openLibsqlFile, {}],
  ["libSQL (:memory:), indexed userId", openLibsqlMemory, { columns: { userId: text("user_id") } }],
  ["better-sqlite3 (file)", openBetterSqlite, {}],
];

for (const [driver, open, options] of setups) {
  describe(`issue 16 SQLite, lone surrogates in where: ${driver}`, () => {
    let database: SqliteTestDatabase;
    beforeAll(async () => {
      database = await open(options);
    });
    afterAll(async () => {
      await database?.close();
    });
    beforeEach(async () => {
      await database.query("delete from sessions");
    });
    const sessions = () => defineSession({ schema, store: database.store, cookie: { name: "sid", secure: true } });

    it("revoke and findMany by a lone surrogate never reach the sessions of the user whose id is U+FFFD", async () => {
      const s = await sessions().load(jar());
      s.set("userId", "\ufffd");
      const token = tokenOf(await s.commit());
      for (const hostile of ["\ud800", "\udfff", "x\ud83d"]) {
        const found = await sessions()
          .findMany({ where: { userId: hostile } })
          .catch((error: unknown) => error);
        const revoked = await sessions()
          .revoke({ where: { userId: hostile } })
          .catch((error: unknown) => error);
        // Never another user's sessions; and told plainly that the filter cannot match anything stored.
        expect((await sessions().get(token))?.get("userId"), JSON.stringify(hostile)).toBe("\ufffd");
        expect(found).toMatchObject({ code: "SESSION_USAGE" });
        expect(revoked).toMatchObject({ code: "SESSION_USAGE" });
      }
      // The honest filter still finds it.
      expect((await sessions().findMany({ where: { userId: "\ufffd" } })).length).toBe(1);
    });

    it("a lone surrogate in a where field name is refused too; a paired one is a character like any other", async () => {
      const s = await sessions().load(jar());
      s.set("\ufffd", "v");
      await s.commit();
      await expect(database.store.find({ "\ud800": "v" }, new Date())).rejects.toMatchObject({ code: "SESSION_USAGE" });
      await expect(database.store.deleteWhere({ "\udc00": "v" })).rejects.toMatchObject({ code: "SESSION_USAGE" });
      expect(await database.store.find({ "😀": "v" }, new Date())).toEqual([]);
      expect((await database.store.find({ "\ufffd": "v" }, new Date())).length).toBe(1);
    });
  });
}
