/**
 * Issue 16 attack on the MySQL/MariaDB store: mysql2 clients a user might hand to drizzleStore.
 * Each one the store cannot run on correctly must be refused at drizzleStore() with a
 * SessionConfigError, not accepted and then failing (or losing writes) request by request.
 */
import { drizzle } from "drizzle-orm/mysql2";
import { createConnection as createCallbackConnection, createPool as createCallbackPool } from "mysql2";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionConfigError } from "../../src/errors.js";
import { drizzleStore } from "../../src/stores/drizzle/index.js";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { RECORD_NOW as now, storedRecord } from "../helpers/records.js";

describe.skipIf(!mysqlUrl)("drizzleStore on MySQL: the mysql2 client", () => {
  let database: MysqlTestDatabase;
  beforeAll(async () => {
    database = await openMysql(mysqlUrl ?? "");
  }, 60_000);
  afterAll(() => database?.close());

  // Found: a single connection was accepted. drizzle then runs rotate's transaction on that same
  // connection, so a patch of another session sent meanwhile joined it: when the rotation failed
  // (its new id taken) the patch was rolled back after it had returned its new rev.
  it("a single connection (promise or callback) is refused with SessionConfigError", async () => {
    const connection = await mysql.createConnection({ uri: database.url });
    const callback = createCallbackConnection({ uri: database.url });
    try {
      expect(() => drizzleStore({ db: drizzle({ client: connection }) })).toThrow(SessionConfigError);
      expect(() => drizzleStore({ db: drizzle({ client: callback }) })).toThrow(/pool/);
    } finally {
      await connection.end();
      await new Promise((resolve) => callback.end(resolve));
    }
  });

  // Found: a pool with `rowsAsArray: true` was accepted, and every session then read as corrupt
  // (the rows came back as arrays, read by column name as undefined): every user silently signed out.
  it("a pool with rowsAsArray (promise or callback) is refused with SessionConfigError", async () => {
    const pool = mysql.createPool({ uri: database.url, rowsAsArray: true });
    const callbackPool = createCallbackPool({ uri: database.url, rowsAsArray: true });
    try {
      expect(() => drizzleStore({ db: drizzle({ client: pool }) })).toThrow(SessionConfigError);
      expect(() => drizzleStore({ db: drizzle({ client: callbackPool }) })).toThrow(/rowsAsArray/);
    } finally {
      await pool.end();
      await new Promise((resolve) => callbackPool.end(resolve));
    }
  });

  // Found: a pool with charset latin1_swedish_ci was accepted; mysql2 encodes statements in it,
  // so "őű" was stored as "Qq" and "中文" as "-" (silently), and an emoji failed the write.
  it("a pool whose charset is not UTF-8 is refused with SessionConfigError; utf8mb3 and utf8mb4 collations are accepted", async () => {
    for (const charset of ["latin1_swedish_ci", "big5", "cp1250_general_ci", "ascii"]) {
      const pool = mysql.createPool({ uri: database.url, charset });
      try {
        expect(() => drizzleStore({ db: drizzle({ client: pool }) }), charset).toThrow(SessionConfigError);
      } finally {
        await pool.end();
      }
    }
    for (const charset of ["utf8mb4", "UTF8MB4_UNICODE_CI", "utf8mb4_bin", "utf8_general_ci"]) {
      const pool = mysql.createPool({ uri: database.url, charset });
      try {
        const store = drizzleStore({ db: drizzle({ client: pool }) });
        const record = storedRecord({ data: { v: { json: "őű中文😀" } } });
        await store.create(record);
        expect((await store.get(record.id, now))?.data, charset).toEqual(record.data);
      } finally {
        await pool.end();
      }
    }
  });

  it("a pool (promise or callback, or drizzle's own from a URL) is accepted and works", async () => {
    const callbackPool = createCallbackPool({ uri: database.url });
    const fromUrl = drizzle(database.url);
    try {
      for (const db of [drizzle({ client: database.pool }), drizzle({ client: callbackPool }), fromUrl]) {
        const store = drizzleStore({ db });
        const record = storedRecord();
        await store.create(record);
        expect((await store.get(record.id, now))?.data).toEqual(record.data);
      }
    } finally {
      await new Promise((resolve) => callbackPool.end(resolve));
      await fromUrl.$client.end();
    }
  });
});
