/**
 * The demo shop is a workspace that depends on `tesserae` by name: npm links the repository's
 * root into node_modules (`"tesserae": "file:../.."`), and the package's `exports` point at
 * dist/. So the shop's modules load dist/'s JavaScript, which `ensureBuilt` (test/cli/cli.ts,
 * shared with the CLI tests and taking turns with them) brings up to date, and `next build`
 * type-checks the shop against dist/'s declarations, which `ensureDeclarations` does.
 */
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const src = path.join(root, "src");
const dist = path.join(root, "dist");

/**
 * Builds dist/'s `.d.ts` files when one is missing or older than its source (or than
 * tsup.config.ts): the library's tsup configuration with `dts.only`, so the JavaScript that
 * other test files may be running is not rewritten and nothing is cleaned. After
 * `npm run build` (CI) there is nothing to do.
 */
export async function ensureDeclarations(): Promise<void> {
  if (await declarationsFresh()) return;
  const { build } = await import("tsup");
  const { default: configs } = await import("../../tsup.config.js");
  const library = (Array.isArray(configs) ? configs : [])[0];
  if (library === undefined || typeof library !== "object") throw new Error("tsup.config.ts has no library configuration");
  await build({ ...library, config: false, dts: { only: true }, clean: false, silent: true });
  if (!(await declarationsFresh())) throw new Error("the declaration build left dist/ older than src/");
}

async function declarationsFresh(): Promise<boolean> {
  const config = (await stat(path.join(root, "tsup.config.ts"))).mtimeMs;
  const sources = (await readdir(src, { recursive: true, withFileTypes: true })).filter(
    (entry) => entry.isFile() && entry.name.endsWith(".ts") && !path.relative(src, entry.parentPath).startsWith("cli"),
  );
  for (const entry of sources) {
    const source = path.join(entry.parentPath, entry.name);
    const declaration = path.join(dist, path.relative(src, source)).replace(/\.ts$/, ".d.ts");
    const built = await stat(declaration).catch(() => null);
    if (built === null || built.mtimeMs < Math.max(config, (await stat(source)).mtimeMs)) return false;
  }
  return true;
}
