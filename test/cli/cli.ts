import { execFile } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "vitest";
import { withDirLock } from "../helpers/dir-lock.js";

const run = promisify(execFile);

/** The repository root. */
export const root = fileURLToPath(new URL("../..", import.meta.url));

/** The built CLI, as `npx tesserae` runs it (the package's `bin`). */
export const bin = join(root, "dist", "cli", "bin.js");

/** A fixture module of `test/cli/fixtures/`, by file name. */
export const fixture = (name: string) => join(root, "test", "cli", "fixtures", name);

// What the build output depends on: a newer file than dist/cli/bin.js means dist is stale.
const sources = ["src", "drizzle", "tsup.config.ts", "package.json"];
const lock = join(root, "node_modules", ".cache", "tessera-cli-build.lock");

let built: Promise<void> | undefined;

/**
 * Builds dist/ when it is missing or older than the sources, once per run: vitest runs each
 * test file in its own process, so the processes take turns through a lock directory
 * (mkdir is atomic) and whoever gets it second finds dist/ fresh. After `npm run build` (CI)
 * nothing is rebuilt. The build is tsup's JavaScript only, without `.d.ts` and without
 * cleaning dist/: running the CLI needs no declarations (they cost ~18 s of the ~19 s), and
 * the ones a full build left stay where `lint:package` expects them.
 */
export function ensureBuilt(): Promise<void> {
  built ??= buildOnce();
  return built;
}

async function buildOnce(): Promise<void> {
  if (await isFresh()) return;
  await withDirLock(lock, 120_000, async () => {
    if (await isFresh()) return;
    await run(join(root, "node_modules", ".bin", "tsup"), ["--no-dts", "--no-clean", "--silent"], { cwd: root });
  });
}

async function isFresh(): Promise<boolean> {
  const output = await stat(bin).catch(() => null);
  if (output === null) return false;
  for (const source of sources) {
    const path = join(root, source);
    const info = await stat(path);
    const files = info.isDirectory()
      ? (await readdir(path, { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile())
      : [];
    const mtimes = info.isDirectory()
      ? await Promise.all(files.map(async (entry) => (await stat(join(entry.parentPath, entry.name))).mtimeMs))
      : [info.mtimeMs];
    if (mtimes.some((mtime) => mtime > output.mtimeMs)) return false;
  }
  return true;
}

/** How a `tesserae` process ended. */
export interface CliResult {
  /** The exit code (null when killed by a signal). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  /**
   * The child's environment on top of this process's, from which DATABASE_URL and REDIS_URL are
   * removed first: a test that wants the CLI to read them passes them here.
   */
  env?: Record<string, string>;
  /** Working directory. @default the repository root */
  cwd?: string;
  /** Kills the CLI after this long, failing the test: a CLI that does not exit is a bug. @default 60_000 */
  timeoutMs?: number;
}

/**
 * Runs `node dist/cli/bin.js ...args` with pipes for stdout and stderr (so not a TTY: no
 * progress bar) and resolves with its exit code and output, whatever the code.
 * @example const result = await tessera(["migrate", "--database-url", url]);
 */
export function tessera(args: readonly string[], options: CliRunOptions = {}): Promise<CliResult> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: options.cwd ?? root, env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error === null) return resolve({ code: 0, stdout, stderr });
        if (error.killed) {
          return reject(new Error(`tessera ${args.join(" ")} did not exit in time\nstdout: ${stdout}\nstderr: ${stderr}`));
        }
        if (typeof error.code !== "number" && error.signal === null) return reject(error);
        resolve({ code: typeof error.code === "number" ? error.code : null, stdout, stderr });
      },
    );
  });
}

/** Asserts exit code 0 (showing stderr when not) and returns stdout without its final newline. */
export function ok(result: CliResult): string {
  expect(result.code, `exit code; stderr: ${result.stderr}`).toBe(0);
  return result.stdout.replace(/\n$/, "");
}

/** Asserts exit code 0 and that stdout is one JSON value, and returns it. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  const stdout = ok(result);
  try {
    return JSON.parse(stdout) as T;
  } catch {
    throw new Error(`stdout is not one JSON value:\n${stdout}`);
  }
}

/**
 * Asserts the contract of a failure: the exit code, and stderr exactly one line
 * `tesserae: <what went wrong>` without a stack trace. Returns that line.
 */
export function failed(result: CliResult, code: 1 | 2): string {
  expect(result.code, `exit code; stdout: ${result.stdout}; stderr: ${result.stderr}`).toBe(code);
  const lines = result.stderr.replace(/\n$/, "").split("\n");
  expect(lines, "stderr is one line").toHaveLength(1);
  const line = lines[0] as string;
  expect(line).toMatch(/^tesserae: \S/);
  expect(result.stderr).not.toContain("    at ");
  return line;
}
