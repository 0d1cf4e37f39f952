import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";

const root = join(import.meta.dirname, "../..");
export const dist = join(root, "dist");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>;
};

/** Each entry point of package.json's exports, with its emitted `.d.ts`. */
export const entries = Object.entries(pkg.exports)
  .filter(([, value]) => typeof value !== "string")
  .map(([subpath, value]) => [subpath, join(root, (value as { types: string }).types)] as const);

/** The newest modification time of a file under `dir`, in ms. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/**
 * Whether tests over the emitted declarations run. They come from `npm run build`, which CI runs
 * before `npm test`. On a fresh clone (no dist/) or after an edit without a build they are missing
 * or stale: such a test is skipped there with `SKIP_REASON` in its name, never a false failure;
 * under CI=true it always runs.
 */
export const declarationsRun =
  process.env.CI === "true" ||
  (entries.every(([, file]) => existsSync(file)) && statSync(join(dist, "index.d.ts")).mtimeMs >= newest(join(root, "src")));

export const SKIP_REASON = " [skipped: dist/ declarations missing or older than src/: run `npm run build` first]";

/** A TypeScript program over the given declaration files (and what they import), as the tests read them. */
export function declarationProgram(files: readonly string[]): ts.Program {
  return ts.createProgram([...files], {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    skipLibCheck: true,
    types: [],
    noEmit: true,
  });
}
