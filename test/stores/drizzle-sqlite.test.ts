import { text } from "drizzle-orm/sqlite-core";
import { openBetterSqlite, openLibsqlFile, openLibsqlMemory, sqliteHarness } from "../helpers/sqlite-databases.js";
import { describeStore } from "./store-contract.js";

// SQLite needs no server: these always run.
describeStore("drizzle on SQLite via libSQL, a local file (default table, migrate())", async () =>
  sqliteHarness(await openLibsqlFile()),
);
describeStore("drizzle on SQLite via libSQL, :memory: (indexed userId column)", async () =>
  sqliteHarness(await openLibsqlMemory({ columns: { userId: text("user_id") } })),
);
describeStore("drizzle on SQLite via better-sqlite3, a local file (default table, migrate())", async () =>
  sqliteHarness(await openBetterSqlite()),
);
