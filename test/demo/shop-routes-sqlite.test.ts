/**
 * The demo shop's session routes on SQLite (`DATABASE_URL=file:<dir>/shop.db`, through
 * @libsql/client): the shared suite (shop-routes-suite.ts), then the file itself, read with a
 * client of its own, holds the table the shop's drizzle-kit migrations for SQLite made.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { afterAll, expect, it } from "vitest";
import { shop, shopDatabaseLabel, shopRoutesSuite } from "./shop-routes-suite.js";

const dir = mkdtempSync(path.join(tmpdir(), "tessera-shop-sqlite-"));
// In a folder that does not exist yet: the shop creates it.
const file = path.join(dir, "data", "shop.db");
// Registered before the suite's own afterAll, so it runs after it (hooks unwind as a stack):
// the shop's client is closed by then.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

delete process.env.REDIS_URL;
delete process.env.SHOP_PGLITE;
process.env.DATABASE_URL = `file:${file}`;

shopRoutesSuite("SQLite");

it("the shop says it runs on SQLite", async () => {
  expect(await shopDatabaseLabel()).toBe("SQLite (libSQL)");
});

it("the shop created the file 0600 and its folder 0700: they hold every session's data", () => {
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
  expect(readFileSync(file).subarray(0, 16).toString("latin1")).toBe("SQLite format 3\0");
});

it("the file holds the shop's own table: drizzle-kit's history of drizzle/sqlite/, user_id generated and indexed", async () => {
  const journal = JSON.parse(readFileSync(path.join(shop, "drizzle/sqlite/meta/_journal.json"), "utf8")) as {
    entries: unknown[];
  };
  const client = createClient({ url: pathToFileURL(file).href });
  try {
    const history = await client.execute("select count(*) as n from __drizzle_migrations");
    expect(Number(history.rows[0]?.n)).toBe(journal.entries.length);
    const indexes = await client.execute(
      "select name from sqlite_master where type = 'index' and tbl_name = 'sessions' and name not like 'sqlite_autoindex_%' order by name",
    );
    expect(indexes.rows.map((row) => row.name)).toEqual(["sessions_expires_at_idx", "sessions_user_id_idx"]);
    // bob is signed in (the suite's alice-then-bob test): his row's user_id comes from the data.
    const bob = await client.execute("select count(*) as n from sessions where user_id = 'bob'");
    expect(Number(bob.rows[0]?.n)).toBe(1);
    const plan = await client.execute("explain query plan select id from sessions where user_id = 'bob'");
    expect(JSON.stringify(plan.rows)).toContain("sessions_user_id_idx");
  } finally {
    client.close();
  }
});
