/**
 * Issue 16 attack on the MySQL/MariaDB store: values near and past the server's
 * max_allowed_packet, with an app that raised maxBytes. A write the server would refuse must
 * fail on its own, typed, and never break the pooled connection for the next request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, SessionTooLargeError } from "../../src/index.js";
import type { SessionPatch } from "../../src/store.js";
import { escapedLength } from "../../src/stores/drizzle/mysql/packet-size.js";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { RECORD_NOW as now, storedRecord } from "../helpers/records.js";

const later = (ms: number) => new Date(now.getTime() + ms);
const patchOf = (overrides: Partial<SessionPatch>): SessionPatch => ({
  set: {},
  deleted: [],
  expiresAt: later(3600_000),
  updatedAt: later(1),
  schemaVersion: 1,
  maxBytes: 100_000_000,
  ...overrides,
});

describe.skipIf(!mysqlUrl)("MySQL store: statements past max_allowed_packet", () => {
  let database: MysqlTestDatabase;
  let maxPacket = 0;
  beforeAll(async () => {
    // One connection, so "the next request" surely takes the connection the large write used.
    database = await openMysql(mysqlUrl ?? "", { pool: { connectionLimit: 1 } });
    maxPacket = Number((await database.query("select @@max_allowed_packet as n"))[0]?.n);
  }, 60_000);
  afterAll(() => database?.close());

  // Found: a 9 MB value saved by a patch (which carries it twice) got ER_NET_PACKET_TOO_LARGE,
  // the server closed the connection, and the next call on it, any session's, failed with ECONNRESET.
  it("a patch, create, replace or rotate too large for the server is refused (SessionTooLargeError); the next call works", async () => {
    const { store } = database;
    const record = storedRecord();
    await store.create(record);
    const big = { json: "x".repeat(Math.ceil(maxPacket * 0.6)) };
    const huge = { json: "y".repeat(maxPacket + 1) };
    const attempts: [string, () => Promise<unknown>][] = [
      ["patch", () => store.patch(record.id, patchOf({ set: { big } }), now)],
      ["create", () => store.create(storedRecord({ data: { huge } }))],
      ["replace", () => store.replace({ ...record, data: { huge } }, now)],
      ["rotate", () => store.rotate(record.id, storedRecord({ data: { huge } }), null, now)],
    ];
    for (const [name, attempt] of attempts) {
      await expect(attempt(), name).rejects.toBeInstanceOf(SessionTooLargeError);
      const other = storedRecord();
      await store.create(other);
      expect((await store.get(other.id, now))?.rev, `the call after ${name}`).toBe(1);
    }
    expect((await store.get(record.id, now))?.data).toEqual(record.data);
  }, 60_000);

  it("values that fit are written: 10 KB, and a patch just under the limit", async () => {
    const { store } = database;
    const record = storedRecord();
    await store.create(record);
    const small = { json: 'é"\\'.repeat(3400) };
    expect(await store.patch(record.id, patchOf({ set: { small } }), now)).toBe(2);
    const fits = { json: "z".repeat(Math.floor(maxPacket * 0.45)) };
    expect(await store.patch(record.id, patchOf({ set: { fits } }), now)).toBe(3);
    expect((await store.get(record.id, now))?.data.fits).toEqual(fits);
  }, 60_000);

  it("through defineSession: the refused save is a SessionTooLargeError, the session keeps its data", async () => {
    const sessions = defineSession({
      schema: z.object({ note: z.string().optional() }),
      store: database.store,
      cookie: { secure: true, name: "sid" },
      maxBytes: 100_000_000,
    });
    const first = await sessions.load("");
    first.set("note", "kept");
    const cookie = ((await first.commit())[0] ?? "").split(";")[0] ?? "";
    const second = await sessions.load(cookie);
    second.set("note", "n".repeat(maxPacket));
    await expect(second.commit()).rejects.toBeInstanceOf(SessionTooLargeError);
    expect((await sessions.load(cookie)).all()).toEqual({ note: "kept" });
  }, 60_000);

  it("escapedLength is the bytes mysql2 sends for a string", () => {
    expect(escapedLength("")).toBe(2);
    expect(escapedLength(`a"'\\\n\r\t\b\0\x1a`)).toBe(2 + 1 + 9 * 2);
    expect(escapedLength("é😀€")).toBe(2 + 2 + 4 + 3);
  });
});
