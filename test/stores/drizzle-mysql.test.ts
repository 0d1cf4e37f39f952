import { varchar } from "drizzle-orm/mysql-core";
import { mysqlHarness, mysqlUrl, openMysql } from "../helpers/mysql-databases.js";
import { describeStore } from "./store-contract.js";

// The real server: skipped (with a notice from the global setup) without MYSQL_URL; under CI it is required.
const url = mysqlUrl ?? "";
const skip = !mysqlUrl;

describeStore("drizzle on MySQL/MariaDB via mysql2 (pool)", async () => mysqlHarness(await openMysql(url)), { skip });
describeStore(
  "drizzle on MySQL/MariaDB via mysql2 (indexed userId column)",
  async () => mysqlHarness(await openMysql(url, { columns: { userId: varchar("user_id", { length: 191 }) } })),
  { skip },
);
