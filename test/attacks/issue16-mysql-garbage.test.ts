/**
 * Issue 16 attack on the MySQL/MariaDB store: rows planted with raw SQL that the store never
 * writes. Through the public API each must load as a fresh session (or with its bad entries
 * dropped), be saved over without an error, and never fail another session's request,
 * findMany, revoke, purge or stats.
 */
import { varchar } from "drizzle-orm/mysql-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { craftedRecord } from "../helpers/records.js";

const schema = z.object({ userId: z.string().optional(), note: z.string().optional() });

/** What each planted row's UPDATE sets (MariaDB's default sql_mode accepts all of these). */
const GARBAGE: Record<string, string> = {
  "data a JSON array": "data = '[]'",
  "data JSON null": "data = 'null'",
  "data a JSON number": "data = '12'",
  "an entry that is not an object": `data = '{"userId": 5, "note": {"json": "n"}}'`,
  "an entry's json missing": `data = '{"userId": {"meta": 1}}'`,
  "expires_at a zero date": "expires_at = '0000-00-00 00:00:00'",
  "created_at with a zero month": "created_at = '2024-00-10 00:00:00'",
  "expires_at at the end of datetime": "expires_at = '9999-12-31 23:59:59.999'",
  "absolute_expires_at at the end of datetime": "absolute_expires_at = '9999-12-31 23:59:59.999'",
  // Found: get returned the row; every save then failed with "Out of range value for column 'rev'".
  "rev at INT max": "rev = 2147483647",
  "schema_version at INT max": "schema_version = 2147483647",
  "successor_id pointing to itself": "successor_id = id",
};

describe.skipIf(!mysqlUrl)("MySQL store: planted garbage rows, through defineSession", () => {
  let database: MysqlTestDatabase;
  beforeAll(async () => {
    database = await openMysql(mysqlUrl ?? "", { columns: { userId: varchar("user_id", { length: 64 }) } });
  }, 60_000);
  afterAll(() => database?.close());

  it("each loads and saves without an error; the healthy session, findMany, revoke, purge and stats go on", async () => {
    const events: SessionEvent[] = [];
    const sessions = defineSession({
      schema,
      store: database.store,
      cookie: { secure: true, name: "sid" },
      onEvent: (event) => events.push(event),
    });
    const now = new Date();
    const healthy = await craftedRecord({ userId: { json: "u1" }, note: { json: "keep" } }, now);
    await database.store.create(healthy.record);
    const planted: { kind: string; token: string }[] = [];
    for (const [kind, set] of Object.entries(GARBAGE)) {
      const { token, record } = await craftedRecord({ userId: { json: "u1" } }, now);
      await database.store.create(record);
      await database.query(`update sessions set ${set} where id = ?`, [record.id]);
      planted.push({ kind, token });
    }

    const outcomes: Record<string, string> = {};
    for (const { kind, token } of planted) {
      try {
        const session = await sessions.load(`sid=${token}`);
        session.set("note", "written");
        await session.commit();
        outcomes[kind] = "ok";
      } catch (error) {
        outcomes[kind] = String(error);
      }
    }
    expect(outcomes).toEqual(Object.fromEntries(planted.map(({ kind }) => [kind, "ok"])));
    expect(events.filter((e) => e.type === "corrupt").length).toBeGreaterThan(0);

    const session = await sessions.load(`sid=${healthy.token}`);
    expect(session.all()).toEqual({ userId: "u1", note: "keep" });
    const found = await sessions.findMany({ where: { userId: "u1" } });
    expect(found.length).toBeGreaterThan(0);
    expect(await sessions.operator.stats()).not.toBeNull();
    expect(await sessions.purgeExpired()).toBeGreaterThanOrEqual(0);
    expect(await sessions.revoke({ where: { userId: "u1" } })).toBeGreaterThan(0);
    expect((await sessions.load(`sid=${healthy.token}`)).all()).toEqual({});
  });
});
