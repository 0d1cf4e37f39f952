import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { SessionOperator } from "../index.js";
import { describeError, failure, usage } from "./failure.js";

/** Extensions Node cannot import as they are: jiti transpiles them. */
const typeScript = new Set([".ts", ".mts", ".cts"]);

/**
 * Loads the app's `--config` module and returns the public `operator` of the `defineSession`
 * manager it exports as `sessions` or as its default export: the app's table with its indexed
 * columns, its cache in front (without the request-path timeout), its schema and its
 * `onEvent`. Found by shape, not `instanceof`, so the app's copy of the package and the CLI's
 * may differ. A `.js`/`.mjs`/`.cjs` module is imported natively; a TypeScript one through the
 * app's own jiti (an optional peer), so the package ships no transpiler (issue 13.4).
 */
export async function loadConfigOperator(file: string): Promise<SessionOperator> {
  const { candidates } = await loadConfigModule(file);
  for (const candidate of candidates) {
    const operator = operatorOf(candidate);
    if (operator !== undefined) return operator;
  }
  throw failure(`${file} exports no defineSession manager (as \`sessions\` or as its default export)`);
}

/** The `--config` module: where a manager may be (`sessions`, the default export, CommonJS's `sessions`), and the module itself. */
export async function loadConfigModule(file: string): Promise<{ module: Record<string, unknown>; candidates: unknown[] }> {
  const path = resolve(file);
  if (!existsSync(path)) throw failure(`cannot load ${file}: no such file`);
  const load = typeScript.has(extname(path)) ? await jitiImport(file, path) : nativeImport;
  let mod: Record<string, unknown>;
  try {
    mod = await load(path);
  } catch (error) {
    throw failure(`cannot load ${file}: ${describeError(error)}`, error);
  }
  // A CommonJS module's `module.exports` arrives as the default export of a native import.
  const commonJs = typeof mod.default === "object" && mod.default !== null ? (mod.default as Record<string, unknown>) : {};
  return { module: { ...commonJs, ...mod }, candidates: [mod.sessions, mod.default, commonJs.sessions] };
}

type Loader = (path: string) => Promise<Record<string, unknown>>;

const nativeImport: Loader = (path) => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>;

interface JitiModule {
  createJiti?: (id: string, options: { moduleCache: boolean }) => { import<T>(id: string): Promise<T> };
}

/**
 * jiti as the app installed it, found from the config's folder, then the working directory,
 * then this package's own place (where pnpm links a peer): resolved at run time, never
 * imported by name, so no bundler can pull it into the bin. Missing, or older than 2 (no
 * `createJiti`), is something the operator fixes by installing it: a usage error (exit 2).
 */
async function jitiImport(file: string, path: string): Promise<Loader> {
  const from = [path, join(process.cwd(), "noop.js"), import.meta.url];
  const entry = from.map(resolveFrom).find((found) => found !== undefined);
  if (entry === undefined) {
    throw usage(`--config ${file} is TypeScript: install jiti (npm install -D jiti) to load it, or compile it to .js`);
  }
  let jiti: JitiModule & { default?: JitiModule };
  try {
    jiti = (await import(pathToFileURL(entry).href)) as JitiModule & { default?: JitiModule };
  } catch (error) {
    throw failure(`cannot load jiti from ${entry}: ${describeError(error)}`, error);
  }
  const createJiti = jiti.createJiti ?? jiti.default?.createJiti;
  if (typeof createJiti !== "function") {
    throw usage(
      `--config ${file} is TypeScript and the jiti found is older than 2: install jiti@2 (npm install -D jiti@2), or compile it to .js`,
    );
  }
  // No module cache: one load per run. The fs cache (transpiled files under
  // node_modules/.cache) is jiti's default and keeps the next run fast.
  const instance = createJiti(pathToFileURL(path).href, { moduleCache: false });
  return (target) => instance.import<Record<string, unknown>>(target);
}

function resolveFrom(parent: string): string | undefined {
  try {
    return createRequire(parent).resolve("jiti");
  } catch {
    return undefined;
  }
}

function operatorOf(manager: unknown): SessionOperator | undefined {
  if ((typeof manager !== "object" && typeof manager !== "function") || manager === null) return undefined;
  const operator = (manager as { operator?: Partial<SessionOperator> }).operator;
  const methods = ["inspect", "revoke", "stats", "countExpired", "purge", "vacuum"] as const;
  return typeof operator === "object" && operator !== null && methods.every((m) => typeof operator[m] === "function")
    ? (operator as SessionOperator)
    : undefined;
}
