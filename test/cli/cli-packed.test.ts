import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installProject, locked, packOnce } from "../helpers/packed.js";
import { type CliResult, failed, ok, root } from "./cli.js";

const run = promisify(execFile);

/** The CLI's own packages: bundled into dist/cli/ by tsup.config.ts, never installed with the library. */
const cliBundled = ["commander", "cli-progress"];

/** What the bin bundles may be; jiti's Babel transform alone was 1.5 MB (issue 13.4). */
const maxCliFile = 300 * 1024;

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe("the library does not install the CLI's dependencies (issue 13.4)", () => {
  it("package.json lists commander and cli-progress as devDependencies only, and the same list is what the bin bundles", async () => {
    const { cliBundled: bundled } = await import("../../tsup.config.js");
    expect(bundled).toEqual(cliBundled);
    for (const name of cliBundled) {
      expect(Object.keys(pkg.dependencies), name).not.toContain(name);
      expect(Object.keys(pkg.devDependencies), name).toContain(name);
    }
  });

  it("jiti, which only a TypeScript --config needs, is an optional peer (2 or later) and a devDependency for the repo's tests", () => {
    expect(Object.keys(pkg.dependencies)).not.toContain("jiti");
    expect(pkg.peerDependencies.jiti).toBe(">=2.0.0");
    expect(pkg.peerDependenciesMeta.jiti).toEqual({ optional: true });
    expect(Object.keys(pkg.devDependencies)).toContain("jiti");
  });
});

/** How an installed `tesserae` process ended: the exit code with both outputs, whatever the code. */
function runBin(app: string, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      join(app, "node_modules", ".bin", "tesserae"),
      args,
      { cwd: app, env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr }),
    );
  });
}

/** An app's config module opening its PGlite directory; `typed` adds an annotation only jiti can strip. */
const configModule = (typed: boolean) =>
  [
    'import { PGlite } from "@electric-sql/pglite";',
    'import { drizzle } from "drizzle-orm/pglite";',
    'import { defineSession } from "tesserae";',
    'import { drizzleStore } from "tesserae/drizzle";',
    'import * as z from "zod";',
    `const dir${typed ? ": string" : ""} = process.env.APP_PGDATA ?? '';`,
    "export const sessions = defineSession({",
    "  schema: z.object({ userId: z.string().optional() }),",
    "  store: drizzleStore({ db: drizzle({ client: new PGlite(dir) }) }),",
    "});",
    "",
  ].join("\n");

/**
 * The packed tarball installed into a new project the way an app installs it: the library with
 * the peers this app uses (zod, PGlite, Drizzle), nothing of the CLI's and not the optional
 * jiti. `npx tesserae` then runs the bundled bin, works on a PGlite directory and loads a `.mjs`
 * `--config` natively; a `.ts` one asks for jiti. Then the app installs jiti (the documented
 * optional peer) and the `.ts` config loads. The tarball is test/helpers/packed.ts's, packed once
 * per build and shared with test/packed/; two `npm install --prefer-offline`.
 */
describe("the packed package in a new project", { timeout: 180_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "tessera-packed-"));
  const app = join(work, "app");
  const data = join(work, "pgdata");
  const npx = (args: string[]) =>
    run("npx", ["--no-install", "tesserae", ...args], { cwd: app, env: { ...process.env, DATABASE_URL: "", REDIS_URL: "" } });
  let packed: { path: string; size: number }[] = [];

  beforeAll(async () => {
    const pack = await packOnce();
    packed = pack.files;
    await installProject(app, pack.tarball, {
      zod: locked("zod"),
      "@electric-sql/pglite": locked("@electric-sql/pglite"),
      "drizzle-orm": locked("drizzle-orm"),
    });
    writeFileSync(join(app, "sessions.ts"), configModule(true));
    writeFileSync(join(app, "sessions.mjs"), configModule(false));
  }, 180_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("the tarball holds no jiti and no large file under dist/cli/", () => {
    const cli = packed.filter((file) => file.path.startsWith("dist/cli/"));
    expect(cli.map((file) => file.path)).toContain("dist/cli/bin.js");
    for (const file of cli) expect(file.size, file.path).toBeLessThanOrEqual(maxCliFile);
    expect(packed.filter((file) => /jiti|babel/i.test(file.path))).toEqual([]);
  });

  it("installs none of commander, cli-progress and jiti", async () => {
    const { stdout } = await run("npm", ["ls", "--all", "--parseable"], { cwd: app });
    const installed = stdout.split("\n").map((line) => line.split(/[\\/]node_modules[\\/]/).pop());
    expect(installed).toContain("tesserae");
    for (const name of [...cliBundled, "jiti"]) {
      expect(installed, name).not.toContain(name);
      expect(existsSync(join(app, "node_modules", name)), name).toBe(false);
    }
  });

  it("npx tesserae --help runs the bundled bin", async () => {
    const { stdout } = await npx(["--help"]);
    expect(stdout).toMatch(/^Usage: tesserae /);
    expect(stdout).toContain("migrate");
  });

  it("migrate on a PGlite directory, then stats --json through a .mjs --config, without jiti", async () => {
    const migrated = await npx(["migrate", "--database-url", data]);
    expect(migrated.stdout).toMatch(/^applied 1 migration: 0000_init/);
    const stats = await runBin(app, ["stats", "--json", "--config", "sessions.mjs"], { APP_PGDATA: data });
    expect(JSON.parse(ok(stats))).toMatchObject({ live: 0 });
  });

  it("a SQLite file or a mysql:// URL without its driver installed exits 1 saying which package to install", async () => {
    // The app installed neither @libsql/client nor mysql2: optional peers, needed only for those URLs.
    const sqlite = await runBin(app, ["migrate", "--database-url", join(work, "sessions.db")]);
    expect(failed(sqlite, 1)).toBe('tesserae: this database URL needs the "@libsql/client" package: npm install @libsql/client');
    const mysql = await runBin(app, ["stats", "--database-url", "mysql://root:s3cret@127.0.0.1:1/test"]);
    expect(failed(mysql, 1)).toBe('tesserae: this database URL needs the "mysql2" package: npm install mysql2');
  });

  it("a TypeScript --config without jiti exits 2 with one line saying to install jiti", async () => {
    const result = await runBin(app, ["stats", "--json", "--config", "sessions.ts"], { APP_PGDATA: data });
    expect(failed(result, 2)).toBe(
      "tesserae: --config sessions.ts is TypeScript: install jiti (npm install -D jiti) to load it, or compile it to .js",
    );
    expect(result.stdout).toBe("");
  });

  describe("with jiti installed (the optional peer)", () => {
    beforeAll(async () => {
      await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", `jiti@${locked("jiti")}`], {
        cwd: app,
      });
    }, 180_000);

    it("stats --json through the TypeScript --config", async () => {
      expect(existsSync(join(app, "node_modules", "jiti"))).toBe(true);
      const stats = await runBin(app, ["stats", "--json", "--config", "sessions.ts"], { APP_PGDATA: data });
      expect(JSON.parse(ok(stats))).toMatchObject({ live: 0 });
    });

    it("migrate is still a no-op, and stats through npx loads the .ts config too", async () => {
      const migrated = await npx(["migrate", "--database-url", data]);
      expect(migrated.stdout).toMatch(/^up to date/);
      const stats = await run("npx", ["--no-install", "tesserae", "stats", "--json", "--config", "sessions.ts"], {
        cwd: app,
        env: { ...process.env, DATABASE_URL: "", REDIS_URL: "", APP_PGDATA: data },
      });
      expect(JSON.parse(stats.stdout)).toMatchObject({ live: 0 });
    });
  });
});
