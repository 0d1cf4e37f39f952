import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { drizzleStore, migrate } from "../lib.js";
import { BETTER_SQLITE3_PRAGMAS } from "../sqlite-files.js";
import type { BenchEnv, Contender } from "../workload.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "Tessera drizzleStore (better-sqlite3)";

/** Tessera on `drizzleStore` over better-sqlite3, the file opened as the floor opens its own. */
export async function create(env: BenchEnv): Promise<Contender> {
  const client = new Database(fileURLToPath(env.databaseUrl));
  for (const pragma of BETTER_SQLITE3_PRAGMAS) client.pragma(pragma);
  const db = drizzle({ client });
  await migrate(db);
  const ops = tesseraOps(define({ store: drizzleStore({ db }) }));
  return {
    name: NAME,
    backend: "better-sqlite3",
    ...ops,
    async close() {
      client.close();
    },
  };
}
