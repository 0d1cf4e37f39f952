/**
 * Which database the demo shop's one variable names (examples/shop/lib/database.ts): the table
 * in examples/shop/README.md, case by case, with real paths in a temporary folder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

// Imported by path: the shop's files use the bundler's extensionless imports, which the root
// tsconfig (NodeNext) does not type-check; `npm run typecheck:demo` does.
type ShopDatabase = { kind: string; location?: string; file?: string; url?: string };
const { databaseLabel, migrationsFolderOf, shopDatabase } = (await import(
  fileURLToPath(new URL("../../examples/shop/lib/database.ts", import.meta.url))
)) as {
  shopDatabase(env: Record<string, string | undefined>, cwd: string): ShopDatabase;
  databaseLabel(database: ShopDatabase): string;
  migrationsFolderOf(database: ShopDatabase): string;
};

const cwd = mkdtempSync(path.join(tmpdir(), "tessera-shop-url-"));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
const of = (DATABASE_URL: string | undefined, extra: Record<string, string> = {}) =>
  shopDatabase({ DATABASE_URL, ...extra }, cwd);

describe("the shop's DATABASE_URL", () => {
  it("unset or empty: the embedded PGlite under the working directory (SHOP_PGLITE moves it)", () => {
    expect(of(undefined)).toEqual({ kind: "pglite", location: path.join(cwd, ".tessera-demo", "shop") });
    expect(of("")).toEqual({ kind: "pglite", location: path.join(cwd, ".tessera-demo", "shop") });
    expect(of(undefined, { SHOP_PGLITE: "memory" })).toEqual({ kind: "pglite", location: "memory" });
    expect(databaseLabel(of(undefined))).toBe("embedded PGlite");
    expect(migrationsFolderOf(of(undefined))).toBe("drizzle/postgres");
  });

  it("postgres:// and postgresql://: that PostgreSQL, with the Postgres table", () => {
    for (const url of ["postgres://u:p@127.0.0.1:5432/shop", "postgresql://127.0.0.1/shop"]) {
      expect(of(url)).toEqual({ kind: "postgres", url });
      expect(migrationsFolderOf(of(url))).toBe("drizzle/postgres");
    }
    expect(databaseLabel(of("postgres://127.0.0.1/shop"))).toBe("PostgreSQL");
  });

  it("mysql:// and mariadb://: that MySQL or MariaDB, with the MySQL table", () => {
    for (const url of ["mysql://root@127.0.0.1:3306/test", "mariadb://u:p@db/shop", "MySQL://127.0.0.1/shop"]) {
      expect(of(url)).toEqual({ kind: "mysql", url });
    }
    expect(migrationsFolderOf(of("mysql://127.0.0.1/shop"))).toBe("drizzle/mysql");
    expect(databaseLabel(of("mysql://127.0.0.1/shop"))).toBe("MySQL/MariaDB");
  });

  it("file: a new name ending in .db/.sqlite/.sqlite3/.db3 is a SQLite file, relative to the working directory or absolute", () => {
    for (const name of ["shop.db", "data/shop.sqlite", "x.SQLITE3", "y.db3"]) {
      expect(of(`file:${name}`)).toEqual({ kind: "sqlite", file: path.join(cwd, name) });
    }
    expect(of("file:/var/lib/shop.db")).toEqual({ kind: "sqlite", file: "/var/lib/shop.db" });
    const spaced = path.join(cwd, "a folder", "my shop.db");
    expect(of(pathToFileURL(spaced).href)).toEqual({ kind: "sqlite", file: spaced });
    expect(migrationsFolderOf(of("file:shop.db"))).toBe("drizzle/sqlite");
    expect(databaseLabel(of("file:shop.db"))).toBe("SQLite (libSQL)");
  });

  it("file: an existing file is SQLite whatever its name; a folder, or a new name without those endings, is PGlite", () => {
    writeFileSync(path.join(cwd, "sessions"), "");
    mkdirSync(path.join(cwd, "pg.db"));
    expect(of("file:sessions")).toEqual({ kind: "sqlite", file: path.join(cwd, "sessions") });
    expect(of("file:pg.db")).toEqual({ kind: "pglite", location: path.join(cwd, "pg.db") });
    expect(of("file:./pgdata")).toEqual({ kind: "pglite", location: path.join(cwd, "pgdata") });
    expect(migrationsFolderOf(of("file:./pgdata"))).toBe("drizzle/postgres");
  });

  it("anything else is refused, naming the scheme only (the URL may hold a password)", () => {
    expect(() => of("redis://:secret@127.0.0.1:6379")).toThrow(/unsupported scheme redis:;/);
    expect(() => of("redis://:secret@127.0.0.1:6379")).not.toThrow(/secret/);
    expect(() => of("shop.db")).toThrow(/unsupported scheme \(no scheme\)/);
    expect(() => of("file:")).toThrow(/names no file/);
  });
});
