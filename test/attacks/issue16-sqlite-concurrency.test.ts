/**
 * Issue 16 attacks on one SQLite FILE shared by two clients (better-sqlite3 and libSQL, as an app
 * and a worker or the CLI would be), through the public API. Found nothing; kept as a guard:
 * - 50 concurrent requests on one session, each setting its own key, half through each client:
 *   every key survives.
 * - a revoke through the other client between a request's load and its save: the save writes
 *   nothing (SESSION_INTERRUPTED), whether it sets, clears or rotates; no session comes back.
 */
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import { drizzleStore } from "../../src/stores/drizzle/index.js";
import { tokenOf } from "../helpers/cookies.js";
import { openBetterSqlite, type SqliteTestDatabase } from "../helpers/sqlite-databases.js";

const shape: Record<string, z.ZodOptional<z.ZodNumber | z.ZodString>> = { userId: z.string().optional() };
for (let i = 0; i < 50; i++) shape[`k${i}`] = z.number().optional();
const schema = z.object(shape);
const jar = (value?: string) => ({ get: (name: string) => (name === "sid" && value !== undefined ? { value } : undefined) });

describe("issue 16 SQLite: two clients on one file, through defineSession", () => {
  let database: SqliteTestDatabase;
  let client: ReturnType<typeof createClient>;
  let viaBetter: ReturnType<typeof defineSession<typeof schema>>;
  let viaLibsql: ReturnType<typeof defineSession<typeof schema>>;
  beforeAll(async () => {
    database = await openBetterSqlite();
    client = createClient({ url: `file:${database.file}`, timeout: 5000 });
    viaBetter = defineSession({ schema, store: database.store, cookie: { name: "sid", secure: true } });
    viaLibsql = defineSession({
      schema,
      store: drizzleStore({ db: drizzle({ client }) }),
      cookie: { name: "sid", secure: true },
    });
  });
  afterAll(async () => {
    client?.close();
    await database?.close();
  });
  beforeEach(async () => {
    await database.query("delete from sessions");
  });

  it("50 concurrent requests on one session, each setting its own key through either client: all 50 survive", async () => {
    const first = await viaBetter.load(jar());
    first.set("userId", "u1");
    const token = tokenOf(await first.commit());
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const s = await (i % 2 === 0 ? viaBetter : viaLibsql).load(jar(token));
        s.set(`k${i}`, i);
        await s.commit();
      }),
    );
    const s = await viaLibsql.load(jar(token));
    for (let i = 0; i < 50; i++) expect(s.get(`k${i}`)).toBe(i);
    expect(Number((await database.query("select rev from sessions"))[0]?.rev)).toBe(51);
  });

  for (const action of ["set", "clear", "rotate"] as const) {
    it(`a revoke through the other client between load and save (${action}): nothing is written back`, async () => {
      const first = await viaBetter.load(jar());
      first.set("userId", "u1");
      const token = tokenOf(await first.commit());
      const s = await viaBetter.load(jar(token));
      expect(await viaLibsql.revoke({ where: { userId: "u1" } })).toBe(1);
      const save = async () => {
        if (action === "clear") s.clear();
        // rotate() writes at once.
        if (action === "rotate") await s.rotate();
        s.set("k0", 1);
        await s.commit();
      };
      await expect(save()).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
      expect(await database.query("select id from sessions")).toEqual([]);
    });
  }
});
