/**
 * The MySQL dialect's migrations: the shipped drizzle/mysql/ folder is what drizzle-kit generates
 * from the default mysql `sessionsTable()` and what `migrate(db)` embeds; on the real server
 * (MYSQL_URL) `migrate` creates that table once, and an app's own folder (a table with an
 * indexed column, its DDL written by drizzle-kit) goes through `migrationsFolder`.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { boolean, int, text, varchar } from "drizzle-orm/mysql-core";
import { pgTable, text as pgText } from "drizzle-orm/pg-core";
import { afterAll, describe, expect, it } from "vitest";
import { SessionConfigError } from "../../src/errors.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import { migrations } from "../../src/stores/drizzle/mysql/migrations.js";
import { sessionsTable } from "../../src/stores/drizzle/mysql/sessions-table.js";
import { type MysqlTestDatabase, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { storedRecord } from "../helpers/records.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const folder = `${root}/drizzle/mysql`;

describe("the MySQL migrations", () => {
  it("embedded in mysql/migrations.ts are drizzle/mysql/'s as readMigrationFiles reads them (run `npm run generate` after changing drizzle/mysql/)", () => {
    const journal = JSON.parse(readFileSync(`${folder}/meta/_journal.json`, "utf8")) as { entries: { tag: string }[] };
    expect(migrations.map(({ tag: _, ...meta }) => meta)).toEqual(readMigrationFiles({ migrationsFolder: folder }));
    expect(migrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
  });

  it("drizzle-kit finds nothing to generate between drizzle/mysql/'s snapshot and the default sessionsTable()", async () => {
    const { generateMySQLDrizzleJson, generateMySQLMigration } = await import("drizzle-kit/api");
    const journal = JSON.parse(readFileSync(`${folder}/meta/_journal.json`, "utf8")) as { entries: { idx: number }[] };
    const last = journal.entries.at(-1)?.idx ?? 0;
    const snapshot = JSON.parse(readFileSync(`${folder}/meta/${String(last).padStart(4, "0")}_snapshot.json`, "utf8"));
    const current = await generateMySQLDrizzleJson({ sessions: sessionsTable() });
    expect(await generateMySQLMigration(snapshot, current)).toEqual([]);
  });

  it("sessionsTable refuses indexed columns it cannot generate or index, and clashing names", () => {
    expect(() => sessionsTable("s", { columns: { userId: text("user_id") } })).toThrow(SessionConfigError);
    expect(() => sessionsTable("s", { columns: { userId: varchar("user_id", { length: 64 }).notNull() } })).toThrow(
      SessionConfigError,
    );
    expect(() => sessionsTable("s", { columns: { rev: int("rev2") } })).toThrow(SessionConfigError);
    expect(() => sessionsTable("s", { columns: { "a'b": int("ab") } })).toThrow(SessionConfigError);
    expect(() => sessionsTable("s", { columns: { age: int("age"), admin: boolean("admin") } })).not.toThrow();
  });
});

describe.skipIf(!mysqlUrl)("migrate() on MySQL/MariaDB", () => {
  const opened: MysqlTestDatabase[] = [];
  const temp: string[] = [];
  afterAll(async () => {
    for (const database of opened) await database.close();
    for (const dir of temp) rmSync(dir, { recursive: true, force: true });
  });
  const open = async (...args: Parameters<typeof openMysql> extends [string, ...infer R] ? R : never) => {
    const database = await openMysql(mysqlUrl ?? "", ...args);
    opened.push(database);
    return database;
  };

  it("creates the default table once: a second run is a no-op, and the store works on it", async () => {
    const database = await open();
    await migrate(database.db);
    expect((await database.query("select count(*) as n from __tessera_migrations"))[0]?.n).toBe(1);
    const columns = await database.query(
      "select column_name as name, column_type as type, is_nullable as nullable from information_schema.columns where table_schema = database() and table_name = 'sessions' order by ordinal_position",
    );
    expect(columns.map((c) => `${c.name} ${c.type} ${c.nullable}`)).toEqual([
      "id varchar(64) NO",
      "data longtext NO",
      "expires_at datetime(3) NO",
      "absolute_expires_at datetime(3) YES",
      "created_at datetime(3) NO",
      "updated_at datetime(3) NO",
      "schema_version int(11) NO",
      "rev int(11) NO",
      "successor_id varchar(64) YES",
    ]);
    const record = storedRecord();
    await database.store.create(record);
    expect((await database.store.get(record.id, record.createdAt))?.data).toEqual(record.data);
  });

  it("applies an app's drizzle-kit folder (a table with an indexed column) through migrationsFolder, once", async () => {
    const database = await open({ empty: true });
    const table = sessionsTable("app_sessions", { columns: { userId: varchar("user_id", { length: 64 }), age: int("age") } });
    const { generateMySQLDrizzleJson, generateMySQLMigration } = await import("drizzle-kit/api");
    const statements = await generateMySQLMigration(
      await generateMySQLDrizzleJson({}),
      await generateMySQLDrizzleJson({ table }),
    );
    const dir = mkdtempSync(path.join(tmpdir(), "tessera-mysql-migrations-"));
    temp.push(dir);
    mkdirSync(path.join(dir, "meta"));
    writeFileSync(path.join(dir, "0000_app.sql"), statements.join("\n--> statement-breakpoint\n"));
    writeFileSync(
      path.join(dir, "meta", "_journal.json"),
      JSON.stringify({
        version: "7",
        dialect: "mysql",
        entries: [{ idx: 0, version: "5", when: 1, tag: "0000_app", breakpoints: true }],
      }),
    );
    await migrate(database.db, { migrationsFolder: dir });
    await migrate(database.db, { migrationsFolder: dir });
    expect((await database.query("select count(*) as n from __drizzle_migrations"))[0]?.n).toBe(1);
    const [generated] = await database.query(
      "select generation_expression as expr, extra from information_schema.columns where table_schema = database() and table_name = 'app_sessions' and column_name = 'user_id'",
    );
    expect(String(generated?.expr)).toMatch(/json_value\(`data`,'\$\.userId\.json'\)/i);
    expect(String(generated?.extra)).toMatch(/STORED/);
    const indexes = await database.query("show index from app_sessions");
    expect(indexes.map((i) => i.Key_name)).toEqual(expect.arrayContaining(["app_sessions_user_id_idx", "app_sessions_age_idx"]));

    const store = drizzleStore({ db: database.db, table });
    const record = storedRecord({ data: { userId: { json: "u7" }, age: { json: 42 } } });
    await store.create(record);
    expect((await database.query("select user_id, age from app_sessions"))[0]).toEqual({ user_id: "u7", age: 42 });
    expect((await store.find({ age: 42 }, record.createdAt)).map((r) => r.id)).toEqual([record.id]);
    expect((await store.stats(record.createdAt, { top: 3 })).top).toEqual([
      { field: "userId", values: [{ value: "u7", sessions: 1 }] },
      { field: "age", values: [{ value: 42, sessions: 1 }] },
    ]);
  });

  it("drizzleStore refuses a table of another dialect on a MySQL database", async () => {
    const database = await open({ empty: true });
    const table = pgTable("sessions", { id: pgText("id") });
    expect(() => drizzleStore({ db: database.db, table: table as never })).toThrow(SessionConfigError);
  });
});
