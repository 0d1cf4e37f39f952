import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { type BenchEnv, type Contender, makePayload, seedParallel, TTL_SECONDS } from "../workload.js";

/** Its table label (the `--check` bars find it by this). */
export const NAME = "raw postgres.js SELECT+UPDATE";

/** The Postgres floor: postgres.js prepared SELECT (read), then prepared UPDATE (modify), jsonb data. */
export async function create(env: BenchEnv): Promise<Contender> {
  const sql = postgres(env.databaseUrl, { max: env.poolSize, onnotice: () => {}, prepare: true });
  await sql`create table if not exists floor_sessions (id text primary key, data jsonb not null, expires_at timestamptz not null)`;
  const ids: string[] = [];
  const expiry = () => new Date(Date.now() + TTL_SECONDS * 1000);
  const load = async (i: number) => {
    const rows = await sql<{ data: Record<string, unknown> }[]>`
      select data from floor_sessions where id = ${ids[i]!} and expires_at > ${new Date()}`;
    const row = rows[0];
    if (row === undefined) throw new Error(`session ${i} not found`);
    return row.data;
  };
  return {
    name: NAME,
    backend: "postgres",
    floor: true,
    async seed(n) {
      await seedParallel(n, 16, async (i) => {
        ids[i] = randomBytes(32).toString("base64url");
        const data = JSON.parse(JSON.stringify(makePayload(i))) as postgres.JSONValue;
        await sql`insert into floor_sessions (id, data, expires_at) values (${ids[i]}, ${sql.json(data)}, ${expiry()})`;
      });
    },
    async read(i) {
      await load(i);
    },
    async modify(i) {
      const data = await load(i);
      data.lastSeen = new Date().toISOString();
      await sql`update floor_sessions set data = ${sql.json(data as postgres.JSONValue)}, expires_at = ${expiry()} where id = ${ids[i]!}`;
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}
