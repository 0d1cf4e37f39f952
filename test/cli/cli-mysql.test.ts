import { describe, expect, it } from "vitest";
import { ensureBuilt, failed, tessera } from "./cli.js";
import { mysqlDatabase } from "./cli-databases.js";
import { describeCli } from "./cli-suite.js";

/** The MySQL/MariaDB server's URL, when the run has one (the global setup says how to set it). */
const mysqlUrl = process.env.MYSQL_URL === "" ? undefined : process.env.MYSQL_URL;

// A server, so every output variant runs too (they cost little here, and typed --where is a
// JSON comparison each dialect writes its own way).
describeCli("MariaDB (mysql2)", () => mysqlDatabase(mysqlUrl as string), { purgeCount: 50_000, enabled: mysqlUrl !== undefined });

describe.skipIf(mysqlUrl === undefined)("tessera CLI errors from a real MySQL/MariaDB", () => {
  it("a wrong password or a missing database is exit 1, one line, without the URL's password, for mysql:// and mariadb://", async () => {
    await ensureBuilt();
    const url = new URL(mysqlUrl as string);
    url.password = "s3cr3t-pw";
    const noDatabase = new URL(mysqlUrl as string);
    noDatabase.pathname = "/tessera_no_such_database";
    for (const target of [url.toString(), url.toString().replace(/^mysql:/, "mariadb:"), noDatabase.toString()]) {
      for (const args of [["migrate"], ["stats"]]) {
        const result = await tessera([...args, "--database-url", target]);
        const line = failed(result, 1);
        expect(line).toMatch(/^tesserae: cannot connect to (mysql|mariadb):\/\//);
        expect(result.stderr + result.stdout).not.toContain("s3cr3t-pw");
      }
    }
  }, 120_000);
});

// Needs no server: nothing listens on port 1.
describe("tessera CLI on a mysql:// URL where nothing listens", () => {
  it("a server that does not answer is exit 1 within the connect timeout", async () => {
    await ensureBuilt();
    const line = failed(await tessera(["stats", "--database-url", "mysql://root:s3cr3t-pw@127.0.0.1:1/test"]), 1);
    expect(line).toMatch(/^tesserae: cannot connect to mysql:\/\/root@127\.0\.0\.1:1\/test: /);
    expect(line).not.toContain("s3cr3t-pw");
  });
});
