/**
 * Attacks on issue 15.5 on a real PostgreSQL: connect-pg-simple rows a careless or hostile past
 * left behind (non-object `sess`, infinite `expire`, odd sids, a hostile table name), keyset
 * paging, two imports at once into drizzleStore, and the CLI's report file (symlinks, modes).
 */
import { chmod, lstat, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  connectPgSimpleSource,
  expressSessionCookie,
  type ImportRejection,
  importSessions,
  type LegacySource,
} from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { ensureBuilt, json, tessera } from "../cli/cli.js";
import { databaseUrl, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { importSchema } from "../import/fixtures/shape.js";
import { pgAppConfig, pgImportCli, pgImportEnv } from "../import/pg-import-cli.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "issue15 pg attack secret";
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const table = `i15attack_session_${process.pid}`;
const config = pgAppConfig;

let database: TestDatabase;
let dir: string;

const manager = () =>
  defineSession({ schema: importSchema, store: database.store, legacy: expressSessionCookie({ secrets: SECRET }) });
const source = (batchSize = 1000, tableName = table): LegacySource =>
  connectPgSimpleSource({ query: (text, params) => database.query(text, params), table: tableName, batchSize });
const map = (legacy: Record<string, unknown>) => ({ userId: legacy.userId as string });

async function insert(sid: string, sess: string, expire: string) {
  await database.query(`insert into "${table}" (sid, sess, expire) values ($1, $2::json, ${expire})`, [sid, sess]);
}

async function reset() {
  await database.query(`delete from "${table}"`);
  await database.query("delete from sessions");
}

describe.skipIf(databaseUrl === undefined)("connect-pg-simple rows", () => {
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
    // connect-pg-simple's own table.sql.
    await database.query(
      `create table "${table}" (sid varchar not null collate "default", sess json not null, expire timestamp(6) not null, primary key (sid))`,
    );
    dir = await mkdtemp(join(tmpdir(), "i15attack-pg-"));
    await ensureBuilt();
  }, 120_000);

  afterAll(async () => {
    await database?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("sess that is JSON null, an array, a string or a number is not-an-object; nothing is written", async () => {
    await reset();
    const hour = "now() + interval '1 hour'";
    await insert("null-aaaaaaaaaaaaaaaa", "null", hour);
    await insert("array-aaaaaaaaaaaaaaa", "[]", hour);
    await insert("string-aaaaaaaaaaaaaa", '"{\\"userId\\":\\"x\\"}"', hour);
    await insert("number-aaaaaaaaaaaaaa", "42", hour);
    await insert("proto-aaaaaaaaaaaaaaa", '{"__proto__":{"userId":"admin"}}', hour);
    const lines: ImportRejection[] = [];
    const result = await importSessions(manager(), source(), { onReject: (line) => lines.push(line) });
    expect(result.reasons).toEqual({ "not-an-object": 4, schema: 1 });
    expect(({} as Record<string, unknown>).userId).toBeUndefined();
    expect(await database.query("select count(*)::int as n from sessions")).toEqual([{ n: 0 }]);
  });

  it("odd sids are paged once each and each is reachable by its own signed cookie only", async () => {
    await reset();
    const sids = ["a", "B", "_x", "ä", "Z z", "quote'd", 'dq"d', "per%cent", "semi;colon", "日本語", "a".repeat(300), "a.b.c"];
    for (const sid of sids) await insert(sid, JSON.stringify({ userId: `u:${sid.slice(0, 20)}` }), "now() + interval '1 hour'");
    const result = await importSessions(manager(), source(1), { map });
    expect(result).toMatchObject({ read: sids.length, imported: sids.length, rejected: 0 });
    const sessions = manager();
    for (const sid of sids) {
      expect((await sessions.load(legacyCookie(sid))).get("userId"), sid).toBe(`u:${sid.slice(0, 20)}`);
    }
  });

  it("an expire of +infinity is imported with maxAge from now, not forever", async () => {
    await reset();
    await insert("pos-inf-aaaaaaaaaaaaaa", JSON.stringify({ userId: "forever" }), "'infinity'");
    const result = await importSessions(manager(), source(), { map });
    expect(result.imported).toBe(1);
    const [info] = await manager().findMany({ where: { userId: "forever" } });
    expect(Math.abs((info?.expiresAt.getTime() ?? 0) - (Date.now() + 14 * 86_400_000))).toBeLessThan(60_000);
  });

  it("a hostile table name is quoted, never run", async () => {
    const hostile = `x"; drop table sessions; --`;
    await expect(importSessions(manager(), source(10, hostile), { map })).rejects.toThrow();
    expect(await database.query("select count(*)::int as n from sessions")).toEqual([{ n: expect.any(Number) }]);
  });

  describe("the CLI's report file", () => {
    const cli = pgImportCli({ table, secret: SECRET, database: () => database, dir: () => dir });

    async function plantRejections() {
      await reset();
      await insert(
        "S3cretS3cretS3cretS3cretS3cret01",
        JSON.stringify({ user: { id: 42 }, card: "4111111111111111" }),
        "now() + interval '1 hour'",
      );
      await insert("S3cretS3cretS3cretS3cretS3cret02", "[1]", "now() + interval '1 hour'");
      await insert("good-aaaaaaaaaaaaaaaaaaaaaaaaaaa", JSON.stringify({ user: { id: "ok" } }), "now() + interval '1 hour'");
    }

    it("`tesserae revoke --where userId=` and `inspect` reach imported sessions nobody has claimed yet", async () => {
      await plantRejections();
      expect(json(await cli("--report", "revoke.jsonl"))).toMatchObject({ imported: 1 });
      const env = pgImportEnv(database, SECRET);
      const inspected = json<unknown[]>(
        await tessera(["inspect", "--config", config, "--where", "userId=ok"], { env, cwd: dir }),
      );
      expect(inspected).toHaveLength(1);
      expect(JSON.stringify(inspected)).not.toContain("good-aaaa");
      const revoked = json(await tessera(["revoke", "--config", config, "--where", "userId=ok", "--json"], { env, cwd: dir }));
      expect(revoked).toMatchObject({ revoked: 1 });
      expect((await manager().load(legacyCookie("good-aaaaaaaaaaaaaaaaaaaaaaaaaaa"))).has("userId")).toBe(false);
    });

    it("--dry-run writes nothing to the store; the report holds neither a full sid nor data, mode 0600", async () => {
      await plantRejections();
      const result = json(await cli("--dry-run", "--report", "dry.jsonl"));
      expect(result).toMatchObject({ read: 3, imported: 1, rejected: 2, dryRun: true });
      expect(await database.query("select count(*)::int as n from sessions")).toEqual([{ n: 0 }]);
      const text = await readFile(join(dir, "dry.jsonl"), "utf8");
      expect(text).not.toContain("S3cretS3c");
      expect(text).not.toContain("4111");
      expect((await stat(join(dir, "dry.jsonl"))).mode & 0o777).toBe(0o600);
    });

    describe("fixed after the attack: the report path", () => {
      it("does not write through a symlink planted at the report path", async () => {
        await plantRejections();
        const victim = join(dir, "victim.txt");
        await writeFile(victim, "someone else's file\n");
        await symlink(victim, join(dir, "planted.jsonl"));
        const result = await cli("--dry-run", "--report", "planted.jsonl");
        expect(await readFile(victim, "utf8")).toBe("someone else's file\n");
        // Refused (exit 1 or 2), or written to a fresh file in place of the link.
        if (result.code === 0) expect((await lstat(join(dir, "planted.jsonl"))).isSymbolicLink()).toBe(false);
      });

      it("a report file that already exists readable by others is not left readable by others", async () => {
        await plantRejections();
        const path = join(dir, "existing.jsonl");
        await writeFile(path, "old run\n");
        await chmod(path, 0o644);
        json(await cli("--dry-run", "--report", "existing.jsonl"));
        expect((await readFile(path, "utf8")).includes("old run")).toBe(false);
        expect((await stat(path)).mode & 0o077).toBe(0);
      });
    });
  });

  describe("fixed after the attack: expiry extremes and two imports at once", () => {
    it("an expire of -infinity is expired, not kept forever", async () => {
      await reset();
      await insert("neg-inf-aaaaaaaaaaaaaa", JSON.stringify({ userId: "ghost" }), "'-infinity'");
      const result = await importSessions(manager(), source(), { map });
      expect(result.reasons.expired).toBe(1);
      expect(await database.query("select count(*)::int as n from sessions")).toEqual([{ n: 0 }]);
    });

    it("one session whose legacy expiry is past year 9999 does not abort the whole import into drizzleStore", async () => {
      await reset();
      // connect-redis without TTL (disableTTL) and a "remember me forever" cookie: cookie.expires decides.
      const records = [
        {
          sid: "far-future-aaaaaaaaaaaaa",
          json: JSON.stringify({ cookie: { expires: "+010000-01-01T00:00:00.000Z" }, userId: "far" }),
          expiresAt: null,
        },
        {
          sid: "ordinary-aaaaaaaaaaaaaaa",
          json: JSON.stringify({ userId: "ordinary" }),
          expiresAt: new Date(Date.now() + 3_600_000),
        },
      ];
      const array: LegacySource = {
        count: async () => records.length,
        batches: async function* () {
          yield records;
        },
      };
      const result = await importSessions(manager(), array, { map });
      expect(result.read).toBe(2);
      expect((await manager().findMany({ where: { userId: "ordinary" } })).length).toBe(1);
    });

    it("two imports at once into drizzleStore both finish, each session imported once", async () => {
      await reset();
      for (let i = 0; i < 100; i++) {
        await insert(
          `twice-${String(i).padStart(3, "0")}-aaaaaaaa`,
          JSON.stringify({ userId: `t${i}` }),
          "now() + interval '1 hour'",
        );
      }
      const [a, b] = await Promise.allSettled([
        importSessions(manager(), source(20), { map }),
        importSessions(manager(), source(20), { map }),
      ]);
      expect(a.status, a.status === "rejected" ? String(a.reason) : "").toBe("fulfilled");
      expect(b.status, b.status === "rejected" ? String(b.reason) : "").toBe("fulfilled");
      // Sessions, not their import markers (shadows: successor_id set).
      expect(await database.query("select count(*)::int as n from sessions where successor_id is null")).toEqual([{ n: 100 }]);
    });
  });
});
