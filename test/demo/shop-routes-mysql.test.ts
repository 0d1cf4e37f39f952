/**
 * The demo shop's session routes on MySQL/MariaDB (`DATABASE_URL=mysql://…`, a mysql2 pool):
 * the shared suite (shop-routes-suite.ts) in a database of its own on MYSQL_URL's server,
 * created here and dropped at the end, then that database holds the table the shop's
 * drizzle-kit migrations for MySQL made. Skipped without MYSQL_URL (the global setup names it;
 * under CI=true that is a failure).
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { createConnection } from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shop, shopDatabaseLabel, shopRoutesSuite } from "./shop-routes-suite.js";

const serverUrl = process.env.MYSQL_URL;
const name = `tessera_shop_${randomUUID().replaceAll("-", "")}`;

/** One statement on MYSQL_URL's server, on a connection of its own. */
async function admin(statement: string): Promise<void> {
  const connection = await createConnection({ uri: serverUrl as string });
  try {
    await connection.query(statement);
  } finally {
    await connection.end();
  }
}

describe.skipIf(!serverUrl)("the demo shop on MySQL/MariaDB", () => {
  beforeAll(async () => {
    await admin(`create database \`${name}\``);
  });
  // Registered before the suite's own afterAll, so it runs after it (hooks unwind as a stack):
  // the shop's pool is closed by then.
  afterAll(async () => {
    await admin(`drop database if exists \`${name}\``);
  });

  if (serverUrl !== undefined && serverUrl !== "") {
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    delete process.env.REDIS_URL;
    delete process.env.SHOP_PGLITE;
    process.env.DATABASE_URL = url.toString();
  }

  shopRoutesSuite("MariaDB");

  it("the shop says it runs on MySQL/MariaDB", async () => {
    expect(await shopDatabaseLabel()).toBe("MySQL/MariaDB");
  });

  it("the database holds the shop's own table: drizzle-kit's history of drizzle/mysql/, user_id generated and indexed", async () => {
    const journal = JSON.parse(readFileSync(path.join(shop, "drizzle/mysql/meta/_journal.json"), "utf8")) as {
      entries: unknown[];
    };
    const connection = await createConnection({ uri: process.env.DATABASE_URL as string });
    try {
      const [history] = await connection.query("select count(*) as n from __drizzle_migrations");
      expect(Number((history as { n: number }[])[0]?.n)).toBe(journal.entries.length);
      const [indexes] = await connection.query("show index from sessions where Key_name = 'sessions_user_id_idx'");
      expect((indexes as { Column_name: string }[]).map((row) => row.Column_name)).toEqual(["user_id"]);
      // bob is signed in (the suite's alice-then-bob test): his row's user_id comes from the data.
      const [bob] = await connection.query("select count(*) as n from sessions where user_id = 'bob'");
      expect(Number((bob as { n: number }[])[0]?.n)).toBe(1);
    } finally {
      await connection.end();
    }
  });
});
