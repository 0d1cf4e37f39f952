import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { drizzleStore, migrate } from "../lib.js";
import type { BenchEnv, Contender } from "../workload.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "Tessera drizzleStore (postgres.js)";

/** Tessera on `drizzleStore` over postgres.js. */
export async function create(env: BenchEnv): Promise<Contender> {
  const client = postgres(env.databaseUrl, { max: env.poolSize, onnotice: () => {} });
  const db = drizzle({ client });
  await migrate(db);
  const ops = tesseraOps(define({ store: drizzleStore({ db }) }));
  return {
    name: NAME,
    backend: "postgres",
    ...ops,
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}
