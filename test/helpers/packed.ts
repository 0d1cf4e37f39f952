import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Options } from "tsup";
import { ensureBuilt, root } from "../cli/cli.js";
import { withDirLock } from "./dir-lock.js";

const run = promisify(execFile);

/**
 * The package as npm publishes it, packed once per build and installed into new projects the way
 * an app installs it (issue 15.6). test/cli/cli-packed.test.ts and test/packed/ share it: vitest
 * runs each file in its own process, so the tarball is kept under node_modules/.cache/ keyed by
 * what goes into it (package.json and every file of dist/ and drizzle/), and the processes take
 * turns through a lock directory; the second finds the tarball made.
 */
export interface Packed {
  /** The tarball's absolute path. */
  tarball: string;
  /** The tarball's size in bytes. */
  size: number;
  /** The size of its files unpacked, in bytes. */
  unpackedSize: number;
  files: { path: string; size: number }[];
}

const cache = join(root, "node_modules", ".cache", "tessera-pack");
const lock = join(root, "node_modules", ".cache", "tessera-pack.lock");

let packed: Promise<Packed> | undefined;

/** The packed package: the built dist/ with its declarations (built first when stale), packed once. */
export function packOnce(): Promise<Packed> {
  packed ??= packShared();
  return packed;
}

async function packShared(): Promise<Packed> {
  await ensureBuilt();
  await mkdir(cache, { recursive: true });
  await withDirLock(lock, 180_000, async () => {
    if (!(await declarationsFresh())) await buildDeclarations();
  });
  const key = await contentKey();
  const meta = join(cache, `${key}.json`);
  if (existsSync(meta)) return JSON.parse(await readFile(meta, "utf8")) as Packed;
  return withDirLock(lock, 180_000, async () => {
    if (existsSync(meta)) return JSON.parse(await readFile(meta, "utf8")) as Packed;
    for (const old of await readdir(cache)) await rm(join(cache, old), { recursive: true, force: true });
    const work = join(cache, `${key}.tmp`);
    await mkdir(work);
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root });
    const [pack] = JSON.parse(stdout) as { filename: string; size: number; unpackedSize: number; files: Packed["files"] }[];
    if (pack === undefined) throw new Error("npm pack --json printed no package");
    const tarball = join(cache, `${key}-${pack.filename}`);
    await rename(join(work, pack.filename), tarball);
    await rm(work, { recursive: true, force: true });
    const result: Packed = { tarball, size: pack.size, unpackedSize: pack.unpackedSize, files: pack.files };
    await writeFile(meta, JSON.stringify(result));
    return result;
  });
}

/**
 * The library's `.d.ts` files, through tsup's API with the library's own entry of
 * tsup.config.ts: ensureBuilt has just written the JavaScript (without declarations, which
 * cost ~20 s), and `tsup --dts-only` would also give the bin a `.d.ts` it must not ship.
 */
async function buildDeclarations(): Promise<void> {
  const [{ build }, { default: configs }] = await Promise.all([import("tsup"), import("../../tsup.config.js")]);
  const library = (configs as Options[]).find((config) => config.dts === true);
  if (library === undefined) throw new Error("tsup.config.ts has no entry with dts: true");
  await build({ ...library, dts: { only: true }, clean: false, silent: true });
}

/** dist/index.d.ts exists and is newer than every source file. */
async function declarationsFresh(): Promise<boolean> {
  const output = await stat(join(root, "dist", "index.d.ts")).catch(() => null);
  if (output === null) return false;
  const sources = await readdir(join(root, "src"), { recursive: true, withFileTypes: true });
  for (const entry of sources) {
    if (entry.isFile() && (await stat(join(entry.parentPath, entry.name))).mtimeMs > output.mtimeMs) return false;
  }
  return true;
}

/** A hash of package.json and of every packed file's path, size and mtime. */
async function contentKey(): Promise<string> {
  const hash = createHash("sha256").update(await readFile(join(root, "package.json")));
  for (const dir of ["dist", "drizzle"]) {
    const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true });
    const files = entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
    for (const file of files.sort()) {
      const info = await stat(file);
      hash.update(`${file}\0${info.size}\0${info.mtimeMs}\n`);
    }
  }
  return hash.digest("hex").slice(0, 16);
}

const lockFile = JSON.parse(await readFile(join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string }>;
};

/** The version the repository's lock file installs of `name` (what its tests ran on). */
export function locked(name: string): string {
  const version = lockFile.packages[`node_modules/${name}`]?.version;
  if (version === undefined) throw new Error(`${name} is not in package-lock.json`);
  return version;
}

/** What `npm install` printed, and how long it took. */
export interface Installed {
  dir: string;
  output: string;
  seconds: number;
}

/**
 * A new project in `dir` depending on the tarball and `dependencies`, installed as an app
 * installs: plain `npm install` (never --force or --legacy-peer-deps, so a peer conflict fails
 * it), from the npm cache where it can.
 */
export async function installProject(
  dir: string,
  tarball: string,
  dependencies: Record<string, string>,
  devDependencies: Record<string, string> = {},
): Promise<Installed> {
  await mkdir(dir, { recursive: true });
  const manifest = {
    name: "app",
    private: true,
    type: "module",
    dependencies: { tesserae: `file:${tarball}`, ...dependencies },
    devDependencies,
  };
  await writeFile(join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const started = Date.now();
  try {
    const { stdout, stderr } = await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline"], {
      cwd: dir,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { dir, output: `${stdout}${stderr}`, seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
    throw new Error(`npm install in ${dir} failed:\n${stdout}${stderr}`);
  }
}

/**
 * Whether the npm registry answers (`npm ping`, 15 s). Without it the packed-package tests
 * cannot install their projects; they then skip with a notice, and fail under CI=true.
 */
export async function registryReachable(): Promise<boolean> {
  try {
    await run("npm", ["ping", "--fetch-timeout=10000", "--fetch-retries=0"], { cwd: root, timeout: 15_000 });
    return true;
  } catch {
    return false;
  }
}
