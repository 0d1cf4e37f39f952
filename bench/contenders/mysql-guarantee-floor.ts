import { createHash, randomBytes } from "node:crypto";
import mysql from "mysql2/promise";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";
import { mysqlPoolOptions } from "./mysql-floor.js";

/** Its table label (`--check` prints the bars' ratios for it beside Tessera's). */
export const NAME = "raw mysql2, the guarantees alone";

/** A session may hold this many bytes of data (the size bound every patch checks, B9). */
const MAX_BYTES = 4096;

/**
 * What Tessera's storage guarantees cost on their own on MySQL/MariaDB, written straight on
 * mysql2 with no library: the row is found by the token's SHA-256; the read matches only a live
 * row; a save is one UPDATE that merges only the changed key (`json_set`, so a concurrent save of
 * another key survives: the row lock and InnoDB's re-read of the newest version), matches only a
 * live row (update-only: no resurrection) and bounds the size (the cheap sufficient bound: the
 * stored length plus the new entry's, which is what a patch that fits needs to check); an index
 * on `expires_at`, which batched purging needs. Prepared statements (`execute`), the same pool as
 * the floor. No schema validation, no late-write check, no rev, no cookie: the least any library
 * keeping these guarantees can spend, to read Tessera's bars against.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const pool = mysql.createPool(mysqlPoolOptions(env.databaseUrl, env.poolSize));
  await pool.query(
    "create table if not exists guarantee_sessions (id varchar(64) primary key, data json not null, expires_at datetime(3) not null, index (expires_at))",
  );
  const tokens: string[] = [];
  const idOf = (token: string) => createHash("sha256").update(token).digest("hex");
  const expiry = () => new Date(Date.now() + TTL_SECONDS * 1000);
  const load = async (id: string, i: number) => {
    const [rows] = await pool.execute<mysql.RowDataPacket[]>(
      "select data from guarantee_sessions where id = ? and expires_at > ?",
      [id, new Date()],
    );
    const data = (rows[0] as { data: string | Record<string, unknown> } | undefined)?.data;
    if (data === undefined) throw new Error(`session ${i} not found`);
    return typeof data === "string" ? (JSON.parse(data) as Record<string, unknown>) : data;
  };
  return {
    name: NAME,
    backend: "mysql",
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        tokens[i] = randomBytes(32).toString("base64url");
        const data: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(makePayload(i))) data[k] = { json: v };
        await pool.execute("insert into guarantee_sessions (id, data, expires_at) values (?, json_extract(?, '$'), ?)", [
          idOf(tokens[i]),
          JSON.stringify(data),
          expiry(),
        ]);
      });
    },
    async read(i) {
      await load(idOf(tokens[i] as string), i);
    },
    async modify(i) {
      const id = idOf(tokens[i] as string);
      await load(id, i);
      const now = new Date();
      const entry = JSON.stringify({ json: now.toISOString() });
      const [ok] = await pool.execute<mysql.ResultSetHeader>(
        `update guarantee_sessions set data = json_set(data, '$."lastSeen"', json_extract(?, '$')), expires_at = ?
         where id = ? and expires_at > ? and length(data) + ? <= ?`,
        [entry, expiry(), id, now, Buffer.byteLength(entry) + 16, MAX_BYTES],
      );
      if (ok.affectedRows !== 1) throw new Error(`session ${i} not found`);
    },
    async close() {
      await pool.end();
    },
  };
}
