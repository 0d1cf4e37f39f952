/**
 * Issue 16 attack on the MySQL/MariaDB store: many mixed operations at once on a few sessions.
 * InnoDB picks a victim when two of them lock in opposite orders (revoke's and purge's index
 * scans against patch/touch/rotate); the store must re-run the victim, never hand
 * ER_LOCK_DEADLOCK to a request as a store outage.
 */
import { randomBytes } from "node:crypto";
import { varchar } from "drizzle-orm/mysql-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionPatch } from "../../src/store.js";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { RECORD_NOW as now, storedRecord } from "../helpers/records.js";

const later = (ms: number) => new Date(now.getTime() + ms);
const patchOf = (overrides: Partial<SessionPatch>): SessionPatch => ({
  set: {},
  deleted: [],
  expiresAt: later(3600_000),
  updatedAt: later(1),
  schemaVersion: 1,
  maxBytes: 1_000_000,
  ...overrides,
});

for (const indexed of [false, true]) {
  describe.skipIf(!mysqlUrl)(
    `MySQL store under mixed concurrent writes (${indexed ? "indexed userId" : "no indexed field"})`,
    () => {
      let database: MysqlTestDatabase;
      beforeAll(async () => {
        const columns = indexed ? { userId: varchar("user_id", { length: 64 }) } : undefined;
        database = await openMysql(mysqlUrl ?? "", { pool: { connectionLimit: 16 }, ...(columns ? { columns } : {}) });
      }, 60_000);
      afterAll(() => database?.close());

      // Found: before the fix, 20 rounds like these gave ~50 ER_LOCK_DEADLOCK failures (rotate,
      // revoke's deleteWhere and purgeExpired were the victims): a login's rotation or a sign-out
      // failing with a 500 while nothing was wrong.
      it("patch, revoke, rotate, touch, purge and replace racing on the same sessions: no call fails", async () => {
        const { store } = database;
        const failures: unknown[] = [];
        const settle = (call: Promise<unknown>) => call.catch((error: unknown) => void failures.push(error));
        for (let round = 0; round < 12; round++) {
          const ids: string[] = [];
          for (let i = 0; i < 20; i++) {
            const record = storedRecord({
              data: { userId: { json: `u${i % 3}` } },
              expiresAt: i % 4 === 0 ? later(-1000) : later(3600_000),
            });
            ids.push(record.id);
            await store.create(record);
          }
          const calls: Promise<unknown>[] = [];
          for (let k = 0; k < 60; k++) {
            const id = ids[k % ids.length] as string;
            const user = `u${k % 3}`;
            const call = [
              () => store.patch(id, patchOf({ set: { userId: { json: user }, [`k${k}`]: { json: k } } }), now),
              () => store.deleteWhere({ userId: user }, { exceptId: id }),
              () =>
                store.rotate(
                  id,
                  storedRecord({ id: randomBytes(32).toString("hex"), data: { userId: { json: user } } }),
                  k % 2 ? later(60_000) : null,
                  now,
                ),
              () => store.touch(id, later(7200_000), now),
              () => store.purgeExpired(now, 5),
              () => store.replace(storedRecord({ id, data: { userId: { json: user } } }), now),
            ][k % 6] as () => Promise<unknown>;
            calls.push(settle(call()));
          }
          await Promise.all(calls);
          await database.query("delete from sessions");
        }
        expect(failures.map((error) => String((error as { cause?: unknown }).cause ?? error))).toEqual([]);
      }, 120_000);
    },
  );
}
