import type { StoreHarness } from "../stores/store-contract.js";
import type { TestDatabase } from "./databases.js";

/** Raw SQL views of a test database's sessions table: every row as text, how many, and emptying it. */
export function sessionsTableViews(database: TestDatabase): Pick<StoreHarness, "dump" | "count" | "reset"> {
  return {
    dump: async () => JSON.stringify(await database.query("select * from sessions")),
    count: async () => Number((await database.query("select count(*)::int as n from sessions"))[0]?.n),
    reset: async () => {
      await database.query("delete from sessions");
    },
  };
}

/** The conformance harness over a test database: raw SQL views of the sessions table. */
export function drizzleHarness(database: TestDatabase): StoreHarness {
  return {
    store: database.store,
    ...sessionsTableViews(database),
    close: () => database.close(),
    // B12: what the typed columns accept but a session cannot be read from.
    garbage: Object.fromEntries(
      Object.entries({
        "expires_at 'infinity'": "expires_at = 'infinity'",
        "created_at '-infinity'": "created_at = '-infinity'",
        "absolute_expires_at 'infinity'": "absolute_expires_at = 'infinity'",
        "updated_at past the Date range": "updated_at = '290000-01-01T00:00:00Z'",
        "data a JSON array": "data = '[]'::jsonb",
        "data JSON null": "data = 'null'::jsonb",
        "data a JSON string": `data = '"{}"'::jsonb`,
      }).map(([kind, set]) => [
        kind,
        async (id: string) => {
          await database.query(`update sessions set ${set} where id = $1`, [id]);
        },
      ]),
    ),
  };
}
