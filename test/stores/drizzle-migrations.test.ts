import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readMigrationFiles } from "drizzle-orm/migrator";
import { describe, expect, it } from "vitest";
import { migrations } from "../../src/stores/drizzle/migrations.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("the migrations migrate() ships as code (issue 12.5)", () => {
  it("are drizzle/'s, as drizzle-orm's readMigrationFiles reads them: same SQL, breakpoints, times and hashes (run `npm run generate` after changing drizzle/)", () => {
    const journal = JSON.parse(readFileSync(`${root}/drizzle/postgres/meta/_journal.json`, "utf8")) as {
      entries: { tag: string }[];
    };
    const fromFolder = readMigrationFiles({ migrationsFolder: `${root}/drizzle/postgres` });
    expect(migrations.map(({ tag: _, ...meta }) => meta)).toEqual(fromFolder);
    expect(migrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
  });

  it("migrate.ts finds no file at run time: nothing a bundler would have to resolve (import.meta.url, node:fs, a folder)", () => {
    const source = readFileSync(`${root}/src/stores/drizzle/migrate.ts`, "utf8").replace(/^\s*(\/\/|\*).*$/gm, "");
    expect(source).not.toMatch(/import\.meta|new URL|node:|drizzle-orm\/migrator"/);
  });
});
