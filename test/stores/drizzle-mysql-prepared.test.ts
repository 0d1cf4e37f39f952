/**
 * The MySQL store's hot path (get, patch) as prepared statements on the mysql2 pool
 * (src/stores/drizzle/mysql/fixed-statement.ts), on the real server: that they are prepared,
 * that the size check trusts the core's figure only at the row's rev, and that a MySQL database
 * of another Drizzle driver still runs them (through `db.execute`).
 */
import { entityKind } from "drizzle-orm";
import { MySqlDatabase } from "drizzle-orm/mysql-core";
import { drizzle } from "drizzle-orm/mysql2";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionTooLargeError } from "../../src/errors.js";
import type { SessionPatch } from "../../src/store.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import { createMysqlDatabase, mysqlUrl } from "../helpers/mysql-databases.js";
import { RECORD_NOW, storedRecord } from "../helpers/records.js";

const now = RECORD_NOW;
const patchOf = (overrides: Partial<SessionPatch>): SessionPatch => ({
  set: {},
  deleted: [],
  expiresAt: new Date(now.getTime() + 3600_000),
  updatedAt: new Date(now.getTime() + 1),
  schemaVersion: 1,
  maxBytes: 1_000_000,
  ...overrides,
});

/** A MySQL database of a driver Tessera does not know: the same session, another entity kind. */
class OtherDriverDatabase extends MySqlDatabase<never, never> {
  static override readonly [entityKind]: string = "OtherDriverDatabase";
}

describe.skipIf(!mysqlUrl)("drizzleStore on MySQL/MariaDB: the hot path's prepared statements", () => {
  let fresh: { url: string; drop(): Promise<void> };
  let pool: mysql.Pool;
  // One connection, so the session's statement counters are the store's.
  const executed = async () => {
    const [rows] = await pool.query("show session status like 'Com_stmt_execute'");
    return Number((rows as { Value: string }[])[0]?.Value);
  };
  beforeAll(async () => {
    fresh = await createMysqlDatabase(mysqlUrl ?? "");
    pool = mysql.createPool({ uri: fresh.url, connectionLimit: 1 });
    await migrate(drizzle({ client: pool }));
  }, 60_000);
  afterAll(async () => {
    await pool?.end();
    await fresh?.drop();
  });

  it("get and a one-key patch are one prepared statement each; a patch of five keys goes through Drizzle", async () => {
    const store = drizzleStore({ db: drizzle({ client: pool }) });
    const record = storedRecord();
    await store.create(record);
    const before = await executed();
    expect((await store.get(record.id, now))?.rev).toBe(1);
    expect(await store.patch(record.id, patchOf({ set: { a: { json: 1 } }, deleted: ["userId"] }), now)).toBe(2);
    expect((await executed()) - before).toBe(2);
    const five = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, { json: i }]));
    expect(await store.patch(record.id, patchOf({ set: five }), now)).toBe(3);
    expect((await executed()) - before).toBe(2);
    const loaded = await store.get(record.id, now);
    expect(loaded?.data.a).toEqual({ json: 1 });
    expect(loaded?.data.userId).toBeUndefined();
    expect(loaded?.data.k4).toEqual({ json: 4 });
  });

  it("the size check trusts the core's figure at the row's rev only; at another rev it measures", async () => {
    const store = drizzleStore({ db: drizzle({ client: pool }) });
    const record = storedRecord();
    await store.create(record);
    const big = { big: { json: "x".repeat(500) } };
    // At rev 1 the core's figure (10 bytes) is taken as the size: the patch is applied.
    expect(await store.patch(record.id, patchOf({ set: big, maxBytes: 100, expected: { rev: 1, bytes: 10 } }), now)).toBe(2);
    // The same figure for a rev the row is no longer at: measured, too large, nothing written.
    const bigger = { bigger: { json: "y".repeat(500) } };
    await expect(
      store.patch(record.id, patchOf({ set: bigger, maxBytes: 100, expected: { rev: 1, bytes: 10 } }), now),
    ).rejects.toBeInstanceOf(SessionTooLargeError);
    expect((await store.get(record.id, now))?.data.bigger).toBeUndefined();
  });

  it("a MySQL database of another Drizzle driver runs the same statements through db.execute", async () => {
    const base = drizzle({ client: pool }) as unknown as { dialect: never; session: never };
    const db = new OtherDriverDatabase(base.dialect, base.session, undefined, "default");
    const store = drizzleStore({ db: db as never });
    const record = storedRecord();
    await store.create(record);
    const before = await executed();
    expect(await store.patch(record.id, patchOf({ set: { a: { json: [1, 2] } }, expected: { rev: 1, bytes: 1 } }), now)).toBe(2);
    const loaded = await store.get(record.id, now);
    expect(loaded?.data.a).toEqual({ json: [1, 2] });
    expect(loaded?.rev).toBe(2);
    expect(await executed()).toBe(before);
  });
});
