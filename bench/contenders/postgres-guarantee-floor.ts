import { createHash, randomBytes } from "node:crypto";
import postgres from "postgres";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (`--check` prints the bars' ratios for it beside Tessera's). */
export const NAME = "raw postgres.js, the guarantees alone";

/**
 * What the storage guarantees of issue 14 cost on their own, written straight on postgres.js with
 * no library: the row is found by the token's SHA-256, each session key is its own `jsonb` member
 * (per-key saves: the UPDATE merges only the changed key into the stored data, so a concurrent
 * save of another key survives), and the UPDATE matches only a live row (update-only). Prepared
 * statements, as the raw floor. No schema validation, no size limit, no late-write check, no
 * cookie: the least any library keeping these guarantees can spend, to read Tessera's bars against.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const sql = postgres(env.databaseUrl, { max: env.poolSize, onnotice: () => {}, prepare: true });
  await sql`create table if not exists guarantee_sessions (id text primary key, data jsonb not null, expires_at timestamptz not null)`;
  const tokens: string[] = [];
  const idOf = (token: string) => createHash("sha256").update(token).digest("hex");
  const expiry = () => new Date(Date.now() + TTL_SECONDS * 1000);
  const load = async (id: string, i: number) => {
    const rows = await sql<{ data: Record<string, unknown> }[]>`
      select data from guarantee_sessions where id = ${id} and expires_at > ${new Date()}`;
    if (rows[0] === undefined) throw new Error(`session ${i} not found`);
    return rows[0].data;
  };
  return {
    name: NAME,
    backend: "postgres",
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        tokens[i] = randomBytes(32).toString("base64url");
        const data: Record<string, postgres.JSONValue> = {};
        for (const [k, v] of Object.entries(makePayload(i))) data[k] = { json: JSON.parse(JSON.stringify(v)) };
        await sql`insert into guarantee_sessions (id, data, expires_at) values (${idOf(tokens[i])}, ${sql.json(data)}, ${expiry()})`;
      });
    },
    async read(i) {
      await load(idOf(tokens[i] as string), i);
    },
    async modify(i) {
      const id = idOf(tokens[i] as string);
      await load(id, i);
      const now = new Date();
      const changed = { lastSeen: { json: now.toISOString() } };
      const rows = await sql`
        update guarantee_sessions set data = data || ${sql.json(changed)}, expires_at = ${expiry()}
        where id = ${id} and expires_at > ${now} returning 1`;
      if (rows.length !== 1) throw new Error(`session ${i} not found`);
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
