/**
 * The demo shop's session routes on its embedded default, PGlite, in memory (the suite is
 * shop-routes-suite.ts; shop-routes-sqlite.test.ts and shop-routes-mysql.test.ts run it on the
 * other dialects).
 */
import { expect, it } from "vitest";
import { shopDatabaseLabel, shopRoutesSuite } from "./shop-routes-suite.js";

// The shop picks its database from the environment on its first request: PGlite in memory here,
// whatever the run has (a DATABASE_URL would have the shop create its table in that database).
delete process.env.DATABASE_URL;
delete process.env.REDIS_URL;
process.env.SHOP_PGLITE = "memory";

shopRoutesSuite("PGlite");

it("the shop says it runs on embedded PGlite", async () => {
  expect(await shopDatabaseLabel()).toBe("embedded PGlite");
});
