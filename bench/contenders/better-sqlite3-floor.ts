import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { BETTER_SQLITE3_PRAGMAS } from "../sqlite-files.js";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "raw better-sqlite3 SELECT+UPDATE";

/**
 * The better-sqlite3 floor: a prepared SELECT + JSON.parse (read), then JSON.stringify + a
 * prepared UPDATE of the whole JSON text (modify), on its own file with the line's pragmas.
 * better-sqlite3 is synchronous; the operations are `async` only to fit the workload.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const db = new Database(fileURLToPath(env.databaseUrl));
  for (const pragma of BETTER_SQLITE3_PRAGMAS) db.pragma(pragma);
  db.exec("create table if not exists floor_sessions (id text primary key, data text not null, expires_at integer not null)");
  const insert = db.prepare<[string, string, number]>("insert into floor_sessions (id, data, expires_at) values (?, ?, ?)");
  const select = db.prepare<[string, number], { data: string }>(
    "select data from floor_sessions where id = ? and expires_at > ?",
  );
  const update = db.prepare<[string, number, string]>("update floor_sessions set data = ?, expires_at = ? where id = ?");
  const ids: string[] = [];
  const expiry = () => Date.now() + TTL_SECONDS * 1000;
  const load = (i: number) => {
    const row = select.get(ids[i] as string, Date.now());
    if (row === undefined) throw new Error(`session ${i} not found`);
    return JSON.parse(row.data) as Record<string, unknown>;
  };
  return {
    name: NAME,
    backend: "better-sqlite3",
    floor: true,
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        ids[i] = randomBytes(32).toString("base64url");
        insert.run(ids[i], JSON.stringify(makePayload(i)), expiry());
      });
    },
    async read(i) {
      load(i);
    },
    async modify(i) {
      const data = load(i);
      data.lastSeen = new Date().toISOString();
      update.run(JSON.stringify(data), expiry(), ids[i] as string);
    },
    async close() {
      db.close();
    },
  };
}
