import { drizzle } from "drizzle-orm/mysql2";
import mysql from "mysql2/promise";
import { drizzleStore, migrate } from "../lib.js";
import type { BenchEnv, Contender } from "../workload.js";
import { mysqlPoolOptions } from "./mysql-floor.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "Tessera drizzleStore (mysql2)";

/** Tessera on `drizzleStore` over a mysql2 pool, the same pool options as the floor's. */
export async function create(env: BenchEnv): Promise<Contender> {
  const pool = mysql.createPool(mysqlPoolOptions(env.databaseUrl, env.poolSize));
  const db = drizzle({ client: pool });
  await migrate(db);
  const ops = tesseraOps(define({ store: drizzleStore({ db }) }));
  return {
    name: NAME,
    backend: "mysql",
    ...ops,
    async close() {
      await pool.end();
    },
  };
}
