import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createJiti } from "jiti";
import type { SessionOperator } from "../index.js";
import { describeError, failure } from "./failure.js";

/**
 * Loads the app's `--config` module (`.ts` too: jiti transpiles it, no build step) and returns
 * the public `operator` of the `defineSession` manager it exports as `sessions` or as its
 * default export: the app's table with its indexed columns, its cache in front (without the
 * request-path timeout), its schema and its `onEvent`. Found by shape, not `instanceof`, so
 * the app's copy of the package and the CLI's may differ.
 */
export async function loadConfigOperator(file: string): Promise<SessionOperator> {
  const path = resolve(file);
  if (!existsSync(path)) throw failure(`cannot load ${file}: no such file`);
  let mod: Record<string, unknown>;
  try {
    // No module cache: one load per run. The fs cache (transpiled files under
    // node_modules/.cache) is jiti's default and keeps the next run fast.
    const jiti = createJiti(pathToFileURL(path).href, { moduleCache: false });
    mod = await jiti.import<Record<string, unknown>>(path);
  } catch (error) {
    throw failure(`cannot load ${file}: ${describeError(error)}`, error);
  }
  for (const candidate of [mod.sessions, mod.default]) {
    const operator = operatorOf(candidate);
    if (operator !== undefined) return operator;
  }
  throw failure(`${file} exports no defineSession manager (as \`sessions\` or as its default export)`);
}

function operatorOf(manager: unknown): SessionOperator | undefined {
  if ((typeof manager !== "object" && typeof manager !== "function") || manager === null) return undefined;
  const operator = (manager as { operator?: Partial<SessionOperator> }).operator;
  const methods = ["inspect", "revoke", "stats", "countExpired", "purge", "vacuum"] as const;
  return typeof operator === "object" && operator !== null && methods.every((m) => typeof operator[m] === "function")
    ? (operator as SessionOperator)
    : undefined;
}
