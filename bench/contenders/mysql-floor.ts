import { randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "raw mysql2 SELECT+UPDATE";

/** mysql2 pool options, both contenders of the MySQL line (UTC for DATETIME values). */
export const mysqlPoolOptions = (url: string, poolSize: number): mysql.PoolOptions => ({
  uri: url,
  connectionLimit: poolSize,
  timezone: "Z",
});

/**
 * The MySQL floor: a mysql2 pool, prepared statements (`execute`): SELECT + JSON.parse (read),
 * then JSON.stringify + UPDATE of the whole JSON document (modify). MariaDB's JSON is LONGTEXT
 * with a validity check, so the driver hands back text, which the floor parses as an app would.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const pool = mysql.createPool(mysqlPoolOptions(env.databaseUrl, env.poolSize));
  await pool.query(
    "create table if not exists floor_sessions (id varchar(64) primary key, data json not null, expires_at datetime(3) not null)",
  );
  const ids: string[] = [];
  const expiry = () => new Date(Date.now() + TTL_SECONDS * 1000);
  const load = async (i: number) => {
    const [rows] = await pool.execute<mysql.RowDataPacket[]>("select data from floor_sessions where id = ? and expires_at > ?", [
      ids[i] as string,
      new Date(),
    ]);
    const data = (rows[0] as { data: string | Record<string, unknown> } | undefined)?.data;
    if (data === undefined) throw new Error(`session ${i} not found`);
    return typeof data === "string" ? (JSON.parse(data) as Record<string, unknown>) : data;
  };
  return {
    name: NAME,
    backend: "mysql",
    floor: true,
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        ids[i] = randomBytes(32).toString("base64url");
        await pool.execute("insert into floor_sessions (id, data, expires_at) values (?, ?, ?)", [
          ids[i],
          JSON.stringify(makePayload(i)),
          expiry(),
        ]);
      });
    },
    async read(i) {
      await load(i);
    },
    async modify(i) {
      const data = await load(i);
      data.lastSeen = new Date().toISOString();
      await pool.execute("update floor_sessions set data = ?, expires_at = ? where id = ?", [
        JSON.stringify(data),
        expiry(),
        ids[i] as string,
      ]);
    },
    async close() {
      await pool.end();
    },
  };
}
