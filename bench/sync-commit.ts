/**
 * Postgres `synchronous_commit` for the bench's own databases. With it on, every UPDATE waits for
 * a WAL flush to disk and a client's own cost hides behind the disk; with it off, the line shows
 * what the client and the statements cost. It is set on each database the run creates (ALTER
 * DATABASE, so every connection a contender opens gets it), never on the shared server.
 */
import pg from "pg";

export type SyncCommit = "off" | "on";

/** Off first: it is the line issue 14's bars are taken on; "on" is the deployment view beside it. */
export const SYNC_COMMITS: readonly SyncCommit[] = ["off", "on"];

/** The label of a line, as the tables print it. */
export const syncLabel = (setting: SyncCommit) => `sync ${setting}`;

async function query(url: string, statement: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Sets `synchronous_commit` for new connections to the database `name`, then checks it on a
 * fresh connection there, so a line is never labelled with a setting it did not run with.
 */
export async function setSyncCommit(adminUrl: string, databaseUrl: string, name: string, setting: SyncCommit): Promise<void> {
  await query(adminUrl, `alter database "${name}" set synchronous_commit = ${setting}`);
  const { rows } = await query(databaseUrl, "show synchronous_commit");
  const actual = (rows[0] as { synchronous_commit?: string } | undefined)?.synchronous_commit;
  if (actual !== setting) throw new Error(`database ${name}: synchronous_commit is ${actual}, expected ${setting}`);
}
