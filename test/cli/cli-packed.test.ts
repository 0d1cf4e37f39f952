import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, root } from "./cli.js";

const run = promisify(execFile);

/** The CLI's own packages: bundled into dist/cli/ by tsup.config.ts, never installed with the library. */
const cliOnly = ["commander", "cli-progress", "jiti"];

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version: string }>;
};
const locked = (name: string) => lock.packages[`node_modules/${name}`]?.version as string;

describe("the library does not install the CLI's dependencies (issue 13.4)", () => {
  it("package.json lists commander, cli-progress and jiti as devDependencies only", () => {
    for (const name of cliOnly) {
      expect(Object.keys(pkg.dependencies), name).not.toContain(name);
      expect(Object.keys(pkg.devDependencies), name).toContain(name);
    }
  });
});

/**
 * The packed tarball installed into a new project the way an app installs it: the library with
 * the peers this app uses (zod, PGlite, Drizzle), nothing of the CLI's. `npx tessera` then runs
 * the bundled bin, loads a TypeScript `--config` (jiti and its Babel transform, bundled) and
 * works on a PGlite directory. One `npm pack` and one `npm install --prefer-offline` (~10 s).
 */
describe("the packed package in a new project", { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "tessera-packed-"));
  const app = join(work, "app");
  const data = join(work, "pgdata");
  const npx = (args: string[]) =>
    run("npx", ["--no-install", "tessera", ...args], { cwd: app, env: { ...process.env, DATABASE_URL: "", REDIS_URL: "" } });

  beforeAll(async () => {
    await ensureBuilt();
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root });
    const tarball = join(work, (JSON.parse(stdout) as { filename: string }[])[0]?.filename ?? "");
    mkdirSync(app);
    const dependencies = {
      tessera: `file:${tarball}`,
      zod: locked("zod"),
      "@electric-sql/pglite": locked("@electric-sql/pglite"),
      "drizzle-orm": locked("drizzle-orm"),
    };
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module", dependencies }));
    await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: app });
    // An app's TypeScript config module: the type annotations need jiti's transform.
    writeFileSync(
      join(app, "sessions.ts"),
      [
        'import { PGlite } from "@electric-sql/pglite";',
        'import { drizzle } from "drizzle-orm/pglite";',
        'import { defineSession } from "tessera";',
        'import { drizzleStore } from "tessera/drizzle";',
        'import * as z from "zod";',
        "const dir: string = process.env.APP_PGDATA ?? '';",
        "export const sessions = defineSession({",
        "  schema: z.object({ userId: z.string().optional() }),",
        "  store: drizzleStore({ db: drizzle({ client: new PGlite(dir) }) }),",
        "});",
        "",
      ].join("\n"),
    );
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("installs none of commander, cli-progress and jiti", async () => {
    const { stdout } = await run("npm", ["ls", "--all", "--parseable"], { cwd: app });
    const installed = stdout.split("\n").map((line) => line.split(/[\\/]node_modules[\\/]/).pop());
    expect(installed).toContain("tessera");
    for (const name of cliOnly) {
      expect(installed, name).not.toContain(name);
      expect(existsSync(join(app, "node_modules", name)), name).toBe(false);
    }
  });

  it("npx tessera --help runs the bundled bin", async () => {
    const { stdout } = await npx(["--help"]);
    expect(stdout).toMatch(/^Usage: tessera /);
    expect(stdout).toContain("migrate");
  });

  it("migrate on a PGlite directory, then stats --json through a TypeScript --config", async () => {
    const migrated = await npx(["migrate", "--database-url", data]);
    expect(migrated.stdout).toMatch(/^applied 1 migration: 0000_init/);
    const stats = await run("npx", ["--no-install", "tessera", "stats", "--json", "--config", "sessions.ts"], {
      cwd: app,
      env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", APP_PGDATA: data },
    });
    expect(JSON.parse(stats.stdout)).toMatchObject({ live: 0 });
  });
});
