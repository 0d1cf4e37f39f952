import type { StoreHarness } from "../stores/store-contract.js";
import type { TestDatabase } from "./databases.js";

/** The conformance harness over a test database: raw SQL views of the sessions table. */
export function drizzleHarness(database: TestDatabase): StoreHarness {
  return {
    store: database.store,
    dump: async () => JSON.stringify(await database.query("select * from sessions")),
    count: async () => Number((await database.query("select count(*)::int as n from sessions"))[0]?.n),
    reset: async () => {
      await database.query("delete from sessions");
    },
    close: () => database.close(),
  };
}
