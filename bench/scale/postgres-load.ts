import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { define } from "../contenders/tessera-common.js";
import { drizzleStore, migrate } from "../lib.js";
import { compareReads, type Rounds, type Target } from "./read-latency.js";
import type { Scratch } from "./resources.js";
import type { LoadLine } from "./result.js";
import { seedPostgres } from "./seed-postgres.js";
import { makeSamples } from "./stored-data.js";

export interface Sizes {
  small: number;
  large: number;
  /** Sessions timed on each side. */
  samples: number;
}

/**
 * Tessera `drizzleStore` over postgres.js with `small` and with `large` sessions stored, each in a
 * database of its own (migrated by `migrate(db)`), both kept until the interleaved rounds are done.
 */
export async function postgresLoad(
  scratch: Scratch,
  sizes: Sizes,
  rounds: Rounds,
  log: (line: string) => void,
): Promise<LoadLine> {
  const clients: postgres.Sql[] = [];
  const databases: string[] = [];
  try {
    const side = async (rows: number): Promise<Target> => {
      const database = await scratch.database(`pg${rows}`);
      databases.push(database);
      // One connection: at concurrency 1 every timed cycle then meets the same prepared statements.
      const client = postgres(scratch.url(database), { max: 1, onnotice: () => {} });
      clients.push(client);
      const db = drizzle({ client });
      await migrate(db);
      const sessions = define({ store: drizzleStore({ db }) });
      const samples = makeSamples(Math.min(sizes.samples, rows), sessions.cookieName);
      log(`  postgres: seeding ${rows.toLocaleString("en-US")} sessions`);
      await seedPostgres(client, { rows, live: rows, sampleIds: samples.ids, tag: `pg${rows}`, log });
      return { sessions, cookies: samples.cookies };
    };
    const small = await side(sizes.small);
    const large = await side(sizes.large);
    log("  postgres: timing reads");
    const latency = await compareReads(small, large, rounds);
    return {
      backend: "postgres",
      small: sizes.small,
      large: sizes.large,
      p50SmallUs: latency.small.p50Us,
      p50LargeUs: latency.large.p50Us,
      p99SmallUs: latency.small.p99Us,
      p99LargeUs: latency.large.p99Us,
    };
  } finally {
    for (const client of clients) await client.end({ timeout: 5 });
    for (const database of databases) await scratch.dropDatabase(database);
  }
}
