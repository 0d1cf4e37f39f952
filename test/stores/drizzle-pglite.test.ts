import { text } from "drizzle-orm/pg-core";
import { openPglite } from "../helpers/databases.js";
import { drizzleHarness } from "../helpers/drizzle-harness.js";
import { describeStore } from "./store-contract.js";

// PGlite is the embedded default: it always runs, with no server and no configuration.
describeStore("drizzle on PGlite (default table, migrate())", async () => drizzleHarness(await openPglite()));
describeStore("drizzle on PGlite (indexed userId column)", async () =>
  drizzleHarness(await openPglite({ columns: { userId: text("user_id") } })),
);
