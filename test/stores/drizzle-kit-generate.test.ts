/**
 * Generated migrations end to end (issue 15.3): an app's Drizzle schema holds `sessionsTable(...)`
 * from the installed package (`tesserae/drizzle`, dist/), `drizzle-kit generate` writes the SQL,
 * `migrate(db, { migrationsFolder })` applies it, and the database then has exactly what the
 * table object declares (columns, types, nullability, generated expressions, indexes) and the
 * store works on it with the indexed columns filled. On PGlite, and on DATABASE_URL's server.
 *
 * Second, the path of docs/migrations.md for a table that already holds sessions, created by the
 * package's `migrate(db)`: a baseline migration generated from the default table (made
 * idempotent), then an indexed column added by a generated ALTER TABLE; the existing rows get
 * the column filled.
 *
 * The fixture app is test/fixtures/drizzle-kit-app/, copied into a temporary folder whose
 * node_modules is the repository's (where npm links `tesserae` to the root).
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { getTableConfig, PgDialect } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, SessionConfigError } from "../../src/index.js";
import { drizzleStore, migrate, type SessionsTable } from "../../src/stores/drizzle/index.js";
import { ensureBuilt } from "../cli/cli.js";
import { cookieHeader } from "../helpers/cookies.js";
import { createDatabase, databaseUrl } from "../helpers/databases.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const fixture = path.join(root, "test", "fixtures", "drizzle-kit-app");
const drizzleKit = path.join(root, "node_modules", "drizzle-kit", "bin.cjs");

type Db = PgDatabase<PgQueryResultHKT, Record<string, unknown>>;
type Query = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
interface Database {
  db: Db;
  query: Query;
  close(): Promise<void>;
}

async function openPglite(): Promise<Database> {
  const client = new PGlite();
  return {
    db: drizzlePglite({ client }),
    query: async (text, params) => (await client.query<Record<string, unknown>>(text, params)).rows,
    close: () => client.close(),
  };
}

async function openPostgres(url: string): Promise<Database> {
  const fresh = await createDatabase(url);
  const client = postgres(fresh.url, { max: 2, onnotice: () => {} });
  return {
    db: drizzlePostgresJs({ client }),
    query: async (text, params = []) => (await client.unsafe(text, params as never[])) as unknown as Record<string, unknown>[],
    close: async () => {
      await client.end({ timeout: 5 });
      await fresh.drop();
    },
  };
}

const url = databaseUrl ?? "";
/** Each database the tests run on: its name, whether it is skipped (no DATABASE_URL), how to open a fresh one. */
const drivers: [string, boolean, () => Promise<Database>][] = [
  ["PGlite", false, openPglite],
  ["PostgreSQL (postgres-js)", url === "", () => openPostgres(url)],
];

/** A temporary app folder: the fixture's drizzle.config.ts, `schema` as its schema.ts, the repository's node_modules. */
function appFolder(schema: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "tessera-drizzle-kit-"));
  symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"), "dir");
  copyFileSync(path.join(fixture, "drizzle.config.ts"), path.join(dir, "drizzle.config.ts"));
  putSchema(dir, schema);
  return dir;
}

function putSchema(dir: string, schema: string): void {
  copyFileSync(path.join(fixture, schema), path.join(dir, "schema.ts"));
}

/** `drizzle-kit generate --name <name>` in the app folder; returns the new migration's SQL. */
async function generate(dir: string, name: string): Promise<string> {
  const before = new Set(sqlFiles(dir));
  await run(process.execPath, [drizzleKit, "generate", "--name", name], { cwd: dir, timeout: 60_000 });
  const added = sqlFiles(dir).filter((file) => !before.has(file));
  expect(added).toEqual([expect.stringMatching(new RegExp(`^\\d{4}_${name}\\.sql$`))]);
  return readFileSync(path.join(dir, "drizzle", added[0]!), "utf8");
}

function sqlFiles(dir: string): string[] {
  try {
    return readdirSync(path.join(dir, "drizzle")).filter((file) => file.endsWith(".sql"));
  } catch {
    return [];
  }
}

/** A table of the fixture, as the app's schema module exports it (built by dist/'s sessionsTable). */
async function fixtureTable(schema: string): Promise<SessionsTable> {
  return ((await import(path.join(fixture, schema))) as { sessions: SessionsTable }).sessions;
}

interface ColumnShape {
  name: string;
  type: string;
  nullable: boolean;
  generated: string | null;
}

/**
 * The columns `table` declares, with each generated expression as Postgres itself normalises
 * it: the declared SQL is put in a scratch table of the same database and read back.
 */
async function declaredColumns(query: Query, table: SessionsTable): Promise<ColumnShape[]> {
  const dialect = new PgDialect();
  const shapes: ColumnShape[] = [];
  for (const column of getTableConfig(table).columns) {
    let generated: string | null = null;
    const as = column.generated?.as;
    if (as !== undefined) {
      const expression = dialect.sqlToQuery(typeof as === "function" ? (as as () => never)() : (as as never)).sql;
      await query(`create table expr_check (data jsonb, g ${column.getSQLType()} generated always as (${expression}) stored)`);
      const [row] = await query(
        "select generation_expression from information_schema.columns where table_name = 'expr_check' and column_name = 'g'",
      );
      await query("drop table expr_check");
      generated = String(row?.generation_expression);
    }
    shapes.push({ name: column.name, type: column.getSQLType(), nullable: !column.notNull && !column.primary, generated });
  }
  return shapes;
}

async function actualColumns(query: Query, tableName: string): Promise<ColumnShape[]> {
  const rows = await query(
    `select column_name as name, data_type as type, is_nullable = 'YES' as nullable, generation_expression as generated
       from information_schema.columns where table_schema = 'public' and table_name = $1 order by ordinal_position`,
    [tableName],
  );
  return rows.map((row) => ({
    name: String(row.name),
    type: String(row.type),
    nullable: row.nullable === true,
    generated: row.generated === null ? null : String(row.generated),
  }));
}

/** Every index of the table: name, columns in order, primary or not. */
async function actualIndexes(query: Query, tableName: string) {
  const rows = await query(
    `select i.relname as name, string_agg(a.attname, ',' order by k.ord) as columns, ix.indisprimary as primary
       from pg_index ix
       join pg_class i on i.oid = ix.indexrelid
       join pg_class t on t.oid = ix.indrelid
       cross join lateral unnest(ix.indkey) with ordinality as k(attnum, ord)
       join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
      where t.relname = $1
      group by i.relname, ix.indisprimary
      order by i.relname`,
    [tableName],
  );
  return rows.map((row) => ({ name: String(row.name), columns: String(row.columns).split(","), primary: row.primary === true }));
}

function declaredIndexes(table: SessionsTable) {
  const config = getTableConfig(table);
  const indexes = config.indexes.map((index) => ({
    name: String(index.config.name),
    columns: index.config.columns.map((column) => (column as { name: string }).name),
    primary: false,
  }));
  const primary = config.columns.filter((column) => column.primary).map((column) => column.name);
  return [...indexes, { name: `${config.name}_pkey`, columns: primary, primary: true }].sort((a, b) =>
    a.name < b.name ? -1 : 1,
  );
}

const appSchema = z.object({ userId: z.string().optional(), tenantId: z.number().int().optional() });

/** A session with `data` saved through `table`; returns its cookie header. */
async function saved(sessions: ReturnType<typeof manager>, data: z.input<typeof appSchema>): Promise<string> {
  const session = await sessions.load(undefined);
  session.update(data);
  return cookieHeader(await session.commit());
}

function manager(db: Db, table?: SessionsTable) {
  return defineSession({
    schema: appSchema,
    store: drizzleStore({ db, ...(table === undefined ? {} : { table }) }),
    cookie: { name: "sid", secure: true },
  });
}

const folders: string[] = [];
afterAll(() => {
  for (const dir of folders) rmSync(dir, { recursive: true, force: true });
});

beforeAll(async () => {
  // drizzle-kit loads the app's schema, which imports `tesserae/drizzle`: the built package.
  await ensureBuilt();
}, 120_000);

describe("drizzle-kit generate on an app schema with sessionsTable(...) (issue 15.3)", () => {
  let dir: string;
  let generatedSql: string;
  let table: SessionsTable;

  beforeAll(async () => {
    dir = appFolder("schema.ts");
    folders.push(dir);
    generatedSql = await generate(dir, "sessions");
    table = await fixtureTable("schema.ts");
  }, 120_000);

  it("writes one CREATE TABLE with the generated columns and a CREATE INDEX per index", () => {
    expect(generatedSql).toMatch(/^CREATE TABLE "app_sessions" \(/);
    expect(generatedSql).toContain(`"user_id" text GENERATED ALWAYS AS ((("data" -> 'userId') ->> 'json')::text) STORED`);
    expect(generatedSql).toContain(
      `"tenant_id" integer GENERATED ALWAYS AS ((("data" -> 'tenantId') ->> 'json')::integer) STORED`,
    );
    expect(generatedSql.match(/CREATE INDEX/g)).toHaveLength(3);
  });

  for (const [name, skip, open] of drivers) appliedSuite(name, skip, open, () => ({ dir, table }));
});

/** The fresh app's migrations applied on one database: compared with the table, then used. */
function appliedSuite(
  name: string,
  skip: boolean,
  open: () => Promise<Database>,
  app: () => { dir: string; table: SessionsTable },
): void {
  describe.skipIf(skip)(`applied with migrate(db, { migrationsFolder }) on ${name}`, () => {
    let database: Database;
    beforeAll(async () => {
      database = await open();
      await migrate(database.db, { migrationsFolder: path.join(app().dir, "drizzle") });
    }, 60_000);
    afterAll(async () => {
      await database?.close();
    });

    it("creates the columns, types, nullability and generated expressions sessionsTable declares", async () => {
      const actual = await actualColumns(database.query, "app_sessions");
      expect(actual).toEqual(await declaredColumns(database.query, app().table));
      // Not an empty comparison: the base columns and both generated ones are there.
      expect(actual.map((column) => column.name)).toContain("tenant_id");
      expect(actual.filter((column) => column.generated !== null).map((column) => column.name)).toEqual(["user_id", "tenant_id"]);
    });

    it("creates the indexes sessionsTable declares, one per generated column", async () => {
      const actual = await actualIndexes(database.query, "app_sessions");
      expect(actual).toEqual(declaredIndexes(app().table));
      expect(actual.map((index) => index.name)).toEqual([
        "app_sessions_expires_at_idx",
        "app_sessions_pkey",
        "app_sessions_tenant_id_idx",
        "app_sessions_user_id_idx",
      ]);
    });

    it("records the app's migration in drizzle's own history table, and a second run applies nothing", async () => {
      const count = async () => (await database.query(`select count(*)::int as n from drizzle."__drizzle_migrations"`))[0]?.n;
      expect(await count()).toBe(1);
      await migrate(database.db, { migrationsFolder: path.join(app().dir, "drizzle") });
      expect(await count()).toBe(1);
      expect((await database.query(`select to_regclass('drizzle."__tessera_migrations"') as t`))[0]?.t).toBeNull();
    });

    it("a store round trip on it: the indexed columns are filled, and findMany and revoke use them", async () => {
      const sessions = manager(database.db, app().table);
      const alice = await saved(sessions, { userId: "alice", tenantId: 7 });
      await saved(sessions, { userId: "bob", tenantId: 7 });
      await saved(sessions, { userId: "carol" });
      const rows = await database.query("select user_id, tenant_id from app_sessions order by user_id");
      expect(rows).toEqual([
        { user_id: "alice", tenant_id: 7 },
        { user_id: "bob", tenant_id: 7 },
        { user_id: "carol", tenant_id: null },
      ]);
      expect((await sessions.findMany({ where: { userId: "alice" } })).map((info) => info.data.tenantId)).toEqual([7]);
      expect(await sessions.revoke({ where: { tenantId: 7 } })).toBe(2);
      expect((await sessions.load(alice)).isNew).toBe(true);
      expect(await database.query("select user_id from app_sessions")).toEqual([{ user_id: "carol" }]);
    });
  });
}

describe("adding an indexed column to a table that already holds sessions (docs/migrations.md)", () => {
  let dir: string;
  let baseline: string;
  let addColumn: string;

  beforeAll(async () => {
    dir = appFolder(path.join("existing", "schema-default.ts"));
    folders.push(dir);
    baseline = await generate(dir, "baseline");
    // The documented step: the baseline creates the table only where it is missing.
    const file = path.join(dir, "drizzle", sqlFiles(dir)[0]!);
    writeFileSync(file, makeIdempotent(baseline));
    putSchema(dir, path.join("existing", "schema-user-id.ts"));
    addColumn = await generate(dir, "user_id");
  }, 120_000);

  it("the baseline drizzle-kit generates from the default table is the package's own migration", () => {
    expect(baseline).toBe(readFileSync(path.join(root, "drizzle", "postgres", "0000_init.sql"), "utf8"));
  });

  it("adding the column generates ALTER TABLE ... ADD COLUMN ... GENERATED ALWAYS AS ... STORED and CREATE INDEX", () => {
    expect(addColumn).toBe(
      `ALTER TABLE "sessions" ADD COLUMN "user_id" text GENERATED ALWAYS AS ((("data" -> 'userId') ->> 'json')::text) STORED;` +
        `--> statement-breakpoint\nCREATE INDEX "sessions_user_id_idx" ON "sessions" USING btree ("user_id");`,
    );
  });

  for (const [name, skip, open] of drivers) {
    describe.skipIf(skip)(`on ${name}`, () => {
      it("a database migrated by the package's migrate(db), holding sessions, gets the column filled for every row", async () => {
        const database = await open();
        try {
          await migrate(database.db);
          const before = manager(database.db);
          const alice = await saved(before, { userId: "alice" });
          const alicePhone = await saved(before, { userId: "alice" });
          const anonymous = await saved(before, { tenantId: 3 });

          await migrate(database.db, { migrationsFolder: path.join(dir, "drizzle") });

          const table = await fixtureTable(path.join("existing", "schema-user-id.ts"));
          expect(await actualColumns(database.query, "sessions")).toEqual(await declaredColumns(database.query, table));
          expect(await actualIndexes(database.query, "sessions")).toEqual(declaredIndexes(table));
          expect(await database.query("select user_id from sessions order by user_id nulls last")).toEqual([
            { user_id: "alice" },
            { user_id: "alice" },
            { user_id: null },
          ]);
          const after = manager(database.db, table);
          expect(await after.findMany({ where: { userId: "alice" } })).toHaveLength(2);
          expect((await after.load(anonymous)).get("tenantId")).toBe(3);
          expect(await after.revoke({ where: { userId: "alice" } })).toBe(2);
          expect((await after.load(alice)).isNew).toBe(true);
          expect((await after.load(alicePhone)).isNew).toBe(true);
          // Both histories: the package's one migration, the app's two (the baseline applied as a no-op).
          const [counts] = await database.query(
            `select (select count(*)::int from drizzle."__tessera_migrations") as package,
                    (select count(*)::int from drizzle."__drizzle_migrations") as app`,
          );
          expect(counts).toEqual({ package: 1, app: 2 });
        } finally {
          await database.close();
        }
      }, 60_000);

      it("a new database gets the same table from the same folder, the baseline creating it", async () => {
        const database = await open();
        try {
          await migrate(database.db, { migrationsFolder: path.join(dir, "drizzle") });
          const table = await fixtureTable(path.join("existing", "schema-user-id.ts"));
          expect(await actualColumns(database.query, "sessions")).toEqual(await declaredColumns(database.query, table));
          expect(await actualIndexes(database.query, "sessions")).toEqual(declaredIndexes(table));
          await saved(manager(database.db, table), { userId: "dave" });
          expect(await database.query("select user_id from sessions")).toEqual([{ user_id: "dave" }]);
        } finally {
          await database.close();
        }
      }, 60_000);
    });
  }
});

describe("migrate(db, { migrationsFolder }) refuses what is not a drizzle-kit folder", () => {
  it("a folder without meta/_journal.json, or an empty path, is a SessionConfigError (CONFIG)", async () => {
    const database = await openPglite();
    const empty = mkdtempSync(path.join(tmpdir(), "tessera-no-migrations-"));
    folders.push(empty);
    mkdirSync(path.join(empty, "meta"));
    try {
      for (const folder of [empty, path.join(empty, "missing"), "", "  "]) {
        const error = await migrate(database.db, { migrationsFolder: folder }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, folder).toBeInstanceOf(SessionConfigError);
        expect((error as SessionConfigError).code).toBe("CONFIG");
      }
      // Nothing was applied: no history table either.
      expect((await database.query(`select to_regclass('drizzle."__drizzle_migrations"') as t`))[0]?.t).toBeNull();
    } finally {
      await database.close();
    }
  });
});

/** What docs/migrations.md tells the reader to do to a baseline: create only what is missing. */
function makeIdempotent(sql: string): string {
  return sql
    .replaceAll("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ")
    .replaceAll("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ");
}

describe("the folder reader stays out of app bundles", () => {
  it("drizzle-orm/migrator (node:fs) is imported at run time only, marked for webpack, Turbopack and Vite to leave alone, in src and in dist", () => {
    // Bundled, it put node:fs into every graph importing tesserae/drizzle: an edge route's
    // `next build --webpack` failed (UnhandledSchemeError), though the import never runs there.
    for (const file of ["src/stores/drizzle/migrations-folder.ts", "dist/stores/drizzle/migrations-folder.js"]) {
      const code = readFileSync(path.join(root, file), "utf8").replace(/^\s*\/\/.*$/gm, "");
      const uses = [...code.matchAll(/(import\s*\(([^)]*)\)|from\s+"drizzle-orm\/migrator")/g)].map((m) => m[0]);
      const runtime = uses.filter((use) => !use.startsWith("from"));
      expect(runtime, file).toHaveLength(1);
      for (const marker of ["webpackIgnore: true", "turbopackIgnore: true", "@vite-ignore"])
        expect(runtime[0], file).toContain(marker);
      expect(runtime[0], file).toContain('"drizzle-orm/migrator"');
    }
    const migrate = readFileSync(path.join(root, "dist/stores/drizzle/migrate.js"), "utf8");
    expect(migrate).not.toMatch(/drizzle-orm\/migrator|node:/);
  });
});
