import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { createJiti } from "jiti";
import { OPERATOR_STORE } from "../define.js";
import type { SessionStore } from "../store.js";
import { describeError, failure } from "./failure.js";

/**
 * Loads the app's `--config` module (`.ts` too: jiti transpiles it, no build step) and returns
 * the store of the `defineSession` manager it exports as `sessions` or as its default export.
 * The store is found under a registry symbol (`Symbol.for`), so the app's copy of the package
 * and the CLI's may differ. It is the composed store: the app's table with its indexed columns,
 * and its cache in front, without the request-path timeout.
 */
export async function loadConfigStore(file: string): Promise<SessionStore> {
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
    const store = operatorStore(candidate);
    if (store !== undefined) return store;
  }
  throw failure(`${file} exports no defineSession manager (as \`sessions\` or as its default export)`);
}

function operatorStore(manager: unknown): SessionStore | undefined {
  if ((typeof manager !== "object" && typeof manager !== "function") || manager === null) return undefined;
  const store = (manager as { [OPERATOR_STORE]?: unknown })[OPERATOR_STORE];
  return typeof store === "object" && store !== null ? (store as SessionStore) : undefined;
}
