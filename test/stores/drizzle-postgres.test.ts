import { text } from "drizzle-orm/pg-core";
import { databaseUrl, openNodePostgres, openPostgresJs } from "../helpers/databases.js";
import { drizzleHarness } from "../helpers/drizzle-harness.js";
import { describeStore } from "./store-contract.js";

// The real server: skipped (with a notice from the global setup) without DATABASE_URL; under CI it is required.
const url = databaseUrl ?? "";
const skip = !databaseUrl;

describeStore("drizzle on PostgreSQL via postgres-js", async () => drizzleHarness(await openPostgresJs(url)), { skip });
describeStore(
  "drizzle on PostgreSQL via node-postgres (indexed userId column)",
  async () => drizzleHarness(await openNodePostgres(url, { columns: { userId: text("user_id") } })),
  { skip },
);
