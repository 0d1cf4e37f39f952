import { randomBytes } from "node:crypto";
import { createClient } from "@libsql/client";
import { LIBSQL_FILE_PRAGMAS, libsqlConfig } from "../sqlite-files.js";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "raw @libsql/client SELECT+UPDATE";

/**
 * The libSQL floor: `execute` of a SELECT + JSON.parse (read), then JSON.stringify + `execute`
 * of an UPDATE of the whole JSON text (modify), with bound arguments, on a local file. The client
 * has no prepared-statement handle: `execute` prepares on the connection each call, as it does
 * for Drizzle's libsql driver.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const client = createClient(libsqlConfig(env.databaseUrl, env.poolSize));
  for (const pragma of LIBSQL_FILE_PRAGMAS) await client.execute(`pragma ${pragma}`);
  await client.execute(
    "create table if not exists floor_sessions (id text primary key, data text not null, expires_at integer not null)",
  );
  const ids: string[] = [];
  const expiry = () => Date.now() + TTL_SECONDS * 1000;
  const load = async (i: number) => {
    const { rows } = await client.execute({
      sql: "select data from floor_sessions where id = ? and expires_at > ?",
      args: [ids[i] as string, Date.now()],
    });
    const row = rows[0];
    if (row === undefined) throw new Error(`session ${i} not found`);
    return JSON.parse(row.data as string) as Record<string, unknown>;
  };
  return {
    name: NAME,
    backend: "libsql",
    floor: true,
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        ids[i] = randomBytes(32).toString("base64url");
        await client.execute({
          sql: "insert into floor_sessions (id, data, expires_at) values (?, ?, ?)",
          args: [ids[i], JSON.stringify(makePayload(i)), expiry()],
        });
      });
    },
    async read(i) {
      await load(i);
    },
    async modify(i) {
      const data = await load(i);
      data.lastSeen = new Date().toISOString();
      await client.execute({
        sql: "update floor_sessions set data = ?, expires_at = ? where id = ?",
        args: [JSON.stringify(data), expiry(), ids[i] as string],
      });
    },
    async close() {
      client.close();
    },
  };
}
