/**
 * The shop's embedded database (no `DATABASE_URL`): PGlite on disk, in `.tessera-demo/shop/`
 * under the working directory, or where `SHOP_PGLITE` says (`memory`: in memory).
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { PGlite } from "@electric-sql/pglite";

/** Where the embedded database lives: a folder, or `"memory"`. */
export function embeddedLocation(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const where = env.SHOP_PGLITE;
  if (where === undefined || where === "") return path.join(cwd, ".tessera-demo", "shop");
  return where === "memory" ? where : path.resolve(cwd, where);
}

/**
 * Creates the data folder and every missing parent (mkdir -p), each 0700: the folder holds
 * every session's data. PGlite creates the last folder only, so on a fresh clone, with no
 * `.tessera-demo/`, it failed with ENOENT and every page answered 500. Folders that already
 * exist are left as they are, so a second start opens the same database.
 */
export function prepareDataDir(dir: string): string {
  const resolved = path.resolve(dir);
  mkdirSync(resolved, { recursive: true, mode: 0o700 });
  return resolved;
}

/** Opens (and on a new folder, initialises) the embedded database at `where`. */
export async function openEmbedded(where: string): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  const client = where === "memory" ? new PGlite() : new PGlite(prepareDataDir(where));
  await client.waitReady;
  return client;
}
