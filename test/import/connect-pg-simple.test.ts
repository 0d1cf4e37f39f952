/**
 * Issue 15.5 end to end on Postgres: sessions logged in through a real express-session +
 * connect-pg-simple app (its own table) are imported by the built CLI into drizzleStore, and the
 * old cookie logs the user in once on a tesserae/express app.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expressSessionCookie, type ImportRejection } from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { ensureBuilt, json } from "../cli/cli.js";
import { databaseUrl, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { importSchema } from "./fixtures/shape.js";
import { LEGACY_SECRET, legacyApp, pgLegacyStore } from "./legacy-app.js";
import { pgImportCli } from "./pg-import-cli.js";
import { tesseraApp } from "./tessera-app.js";

const table = `legacy_session_${process.pid}`;

let database: TestDatabase;
let pool: pg.Pool;
let legacy: Awaited<ReturnType<typeof legacyApp>>;
let dir: string;
const cookies: Record<string, string> = {};

const cli = pgImportCli({ table, secret: LEGACY_SECRET, database: () => database, dir: () => dir });

const manager = () =>
  defineSession({
    schema: importSchema,
    store: database.store,
    legacy: expressSessionCookie({ secrets: LEGACY_SECRET, followSeconds: 0 }),
  });

describe.skipIf(databaseUrl === undefined)("tesserae import --from connect-pg-simple", () => {
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
    pool = new pg.Pool({ connectionString: database.url, max: 2 });
    dir = await mkdtemp(join(tmpdir(), "tessera-import-pg-"));
    legacy = await legacyApp(pgLegacyStore(pool, table));
    cookies.alice = await legacy.login("alice");
    cookies.bob = await legacy.login("bob");
    cookies.numeric = await legacy.login("eve", "&numeric");
    const insert = (sid: string, sess: string, expire: string) =>
      pool.query(`insert into "${table}" (sid, sess, expire) values ($1, $2::json, ${expire})`, [sid, sess]);
    await insert("array-row", "[1,2]", "now() + interval '1 hour'");
    await insert("expired-row", JSON.stringify({ user: { id: "old", name: "Old" } }), "now() - interval '1 hour'");
    await insert(
      "huge-row",
      JSON.stringify({ user: { id: "x" }, blob: "x".repeat(10 * 1024 * 1024) }),
      "now() + interval '1 hour'",
    );
    await ensureBuilt();
  }, 120_000);

  afterAll(async () => {
    await legacy?.close();
    await pool?.end();
    await database?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("--dry-run writes nothing; the import writes the valid sessions and reports the others", async () => {
    const dry = json(await cli("--dry-run", "--report", "dry.jsonl"));
    expect(dry).toMatchObject({ read: 6, imported: 2, rejected: 4, dryRun: true });
    expect(await database.query("select count(*)::int as n from sessions")).toEqual([{ n: 0 }]);
    const result = json(await cli("--report", "report.jsonl"));
    expect(result).toMatchObject({
      read: 6,
      imported: 2,
      rejected: 4,
      reasons: { schema: 1, expired: 1, "not-an-object": 1, "too-large": 1 },
    });
    // Sessions, not their import markers (shadows: successor_id set).
    expect(await database.query("select count(*)::int as n from sessions where successor_id is null")).toEqual([{ n: 2 }]);
    const report = (await readFile(join(dir, "report.jsonl"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as ImportRejection);
    expect(report.map((line) => line.reason).sort()).toEqual(["expired", "not-an-object", "schema", "too-large"]);
    expect(JSON.stringify(report)).not.toContain("array-row");
    // The expiry is connect-pg-simple's `expire` (the cookie's hour), read back in the right time zone.
    const [alice] = await manager().findMany({ where: { userId: "alice" } });
    expect(Math.abs((alice?.expiresAt.getTime() ?? 0) - (Date.now() + 3_600_000))).toBeLessThan(60_000);
    // A second run changes nothing.
    expect(json(await cli("--report", "again.jsonl"))).toMatchObject({ imported: 0, existing: 2 });
  });

  it("the old cookie logs the user in once on the Tessera app", async () => {
    const app = await tesseraApp(manager());
    try {
      const first = await app.me(cookies.alice as string);
      expect(first.body).toEqual({ userId: "alice", cart: ["sku-1", "sku-alice"] });
      const pair = first.setCookies.find((value) => value.startsWith("__Host-sid="))?.split(";")[0] as string;
      expect((await app.me(pair)).body?.userId).toBe("alice");
      expect((await app.me(cookies.alice as string)).body?.userId).toBeNull();
      // The rejected session's cookie leads nowhere; the other imported one still works.
      expect((await app.me(cookies.numeric as string)).body?.userId).toBeNull();
      expect((await app.me(cookies.bob as string)).body?.userId).toBe("bob");
    } finally {
      await app.close();
    }
  });
});
