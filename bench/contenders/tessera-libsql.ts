import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { drizzleStore, migrate } from "../lib.js";
import { LIBSQL_FILE_PRAGMAS, libsqlConfig } from "../sqlite-files.js";
import type { BenchEnv, Contender } from "../workload.js";
import { define, tesseraOps } from "./tessera-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "Tessera drizzleStore (libsql)";

/** Tessera on `drizzleStore` over libSQL's local-file client, opened as the floor opens its own. */
export async function create(env: BenchEnv): Promise<Contender> {
  const client = createClient(libsqlConfig(env.databaseUrl, env.poolSize));
  for (const pragma of LIBSQL_FILE_PRAGMAS) await client.execute(`pragma ${pragma}`);
  const db = drizzle({ client });
  await migrate(db);
  const ops = tesseraOps(define({ store: drizzleStore({ db }) }));
  return {
    name: NAME,
    backend: "libsql",
    ...ops,
    async close() {
      client.close();
    },
  };
}
