import { defineConfig } from "drizzle-kit";

// The MySQL/MariaDB table's migrations (see drizzle.config.ts).
export default defineConfig({ dialect: "mysql", schema: "./db/mysql.ts", out: "./drizzle/mysql" });
