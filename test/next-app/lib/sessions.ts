/**
 * The fixture's session managers: Tessera from the packed package, Drizzle on PGlite in the
 * folder `FIXTURE_PGLITE` names (a temporary folder the script made).
 */
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { defineSession } from "tesserae";
import { drizzleStore, migrate } from "tesserae/drizzle";
import * as z from "zod";

export const schema = z.object({
  userId: z.string().optional(),
  bucket: z.enum(["a", "b"]).optional(),
  visits: z.number().int().default(0),
});

type Database = { db: ReturnType<typeof drizzle>; client: PGlite };

// Next gives the proxy and every route a bundle of its own, each with its own copy of this
// module: the database is shared through globalThis (two PGlite instances on one folder would
// corrupt it). Opened on first use, never at build time.
const holder = globalThis as typeof globalThis & { __fixtureDb?: Promise<Database> };

export function database(): Promise<Database> {
  holder.__fixtureDb ??= (async () => {
    const folder = process.env.FIXTURE_PGLITE;
    if (folder === undefined || folder === "") throw new Error("FIXTURE_PGLITE is not set");
    const client = new PGlite(folder);
    const db = drizzle({ client });
    await migrate(db);
    return { db, client };
  })();
  return holder.__fixtureDb;
}

// Plain HTTP on loopback, so the cookies are not Secure (the tests read Set-Cookie themselves).
function create(db: Database["db"]) {
  return {
    sessions: defineSession({ schema, store: drizzleStore({ db }), cookie: { name: "sid", secure: false } }),
    // A refresh due on every request: the proxy re-sends this cookie each time it sees it.
    rolling: defineSession({
      schema,
      store: drizzleStore({ db }),
      cookie: { name: "rsid", secure: false },
      rolling: true,
      touchAfter: 0,
    }),
  };
}

let managers: Promise<ReturnType<typeof create>> | undefined;

export function getManagers() {
  managers ??= database().then(({ db }) => create(db));
  return managers;
}

export async function getSessions() {
  return (await getManagers()).sessions;
}

/** How many session rows the store holds (the tests' probe for orphan rows). */
export async function countSessions(): Promise<number> {
  const { client } = await database();
  const { rows } = await client.query<{ n: number }>("select count(*)::int as n from sessions");
  return rows[0]?.n ?? 0;
}
