import { randomBytes } from "node:crypto";
import connectPgSimple from "connect-pg-simple";
import session from "express-session";
import pg from "pg";
import { type BenchEnv, type Contender, seedParallel, TTL_SECONDS } from "../workload.js";
import { expressSession, expressStoreOps } from "./peer-common.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "connect-pg-simple (express-session)";

/** connect-pg-simple on a node-postgres Pool, driven as express-session drives it (touch on every read). */
export async function create(env: BenchEnv): Promise<Contender> {
  const pool = new pg.Pool({ connectionString: env.databaseUrl, max: env.poolSize });
  pool.on("error", () => {});
  const PGStore = connectPgSimple(session);
  const store = new PGStore({ pool, createTableIfMissing: true, pruneSessionInterval: false, ttl: TTL_SECONDS });
  const ids: string[] = [];
  const ops = expressStoreOps(store, ids);
  return {
    name: NAME,
    backend: "postgres",
    async seed(n) {
      // The first call creates the table; let it finish before the parallel inserts.
      ids[0] = randomBytes(24).toString("base64url");
      await ops.set(ids[0], expressSession(0));
      await seedParallel(n - 1, 16, async (k) => {
        const i = k + 1;
        ids[i] = randomBytes(24).toString("base64url");
        await ops.set(ids[i], expressSession(i));
      });
    },
    read: ops.read,
    modify: ops.modify,
    async close() {
      store.close();
      await pool.end();
    },
  };
}
