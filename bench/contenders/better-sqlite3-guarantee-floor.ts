import { createHash, randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { BETTER_SQLITE3_PRAGMAS } from "../sqlite-files.js";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (`--check` prints the bars' ratios for it beside Tessera's). */
export const NAME = "raw better-sqlite3, the guarantees alone";

/** A session may hold this many bytes of data (the size bound every patch checks, B9). */
const MAX_BYTES = 4096;

/**
 * What Tessera's storage guarantees cost on their own on SQLite, written straight on
 * better-sqlite3 with no library: the row is found by the token's SHA-256; the read matches only
 * a live row; a save is one prepared UPDATE that merges only the changed key (`json_set`, so a
 * concurrent save of another key survives), matches only a live row (update-only: no
 * resurrection) and bounds the size (the stored bytes plus the new entry's: the cheap
 * sufficient bound a patch that fits needs); an index on `expires_at`, which batched purging
 * needs. The floor's file settings. No schema validation, no late-write check, no rev, no
 * cookie: the least any library keeping these guarantees can spend, to read Tessera's bars against.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const db = new Database(fileURLToPath(env.databaseUrl));
  for (const pragma of BETTER_SQLITE3_PRAGMAS) db.pragma(pragma);
  db.exec("create table if not exists guarantee_sessions (id text primary key, data text not null, expires_at integer not null)");
  db.exec("create index if not exists guarantee_sessions_expires_at on guarantee_sessions (expires_at)");
  const insert = db.prepare<[string, string, number]>("insert into guarantee_sessions (id, data, expires_at) values (?, ?, ?)");
  const select = db.prepare<[string, number], { data: string }>(
    "select data from guarantee_sessions where id = ? and expires_at > ?",
  );
  const patch = db.prepare<[string, number, string, number, number, number]>(
    `update guarantee_sessions set data = json_set(data, '$."lastSeen"', json(?)), expires_at = ?
     where id = ? and expires_at > ? and octet_length(data) + ? <= ?`,
  );
  const tokens: string[] = [];
  const idOf = (token: string) => createHash("sha256").update(token).digest("hex");
  const expiry = () => Date.now() + TTL_SECONDS * 1000;
  const load = (id: string, i: number) => {
    const row = select.get(id, Date.now());
    if (row === undefined) throw new Error(`session ${i} not found`);
    return JSON.parse(row.data) as Record<string, unknown>;
  };
  return {
    name: NAME,
    backend: "better-sqlite3",
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        tokens[i] = randomBytes(32).toString("base64url");
        const data: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(makePayload(i))) data[k] = { json: v };
        insert.run(idOf(tokens[i]), JSON.stringify(data), expiry());
      });
    },
    async read(i) {
      load(idOf(tokens[i] as string), i);
    },
    async modify(i) {
      const id = idOf(tokens[i] as string);
      load(id, i);
      const now = Date.now();
      const entry = JSON.stringify({ json: new Date(now).toISOString() });
      // The entry, its key and separators: `"lastSeen":` and `,`.
      const { changes } = patch.run(entry, expiry(), id, now, Buffer.byteLength(entry) + 12, MAX_BYTES);
      if (changes !== 1) throw new Error(`session ${i} not found`);
    },
    async close() {
      db.close();
    },
  };
}
