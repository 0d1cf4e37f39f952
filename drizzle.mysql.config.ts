import { defineConfig } from "drizzle-kit";

// Generates the migrations shipped in `drizzle/mysql/` for the default MySQL/MariaDB table only;
// users with their own `sessionsTable(...)` generate theirs from their own schema.
export default defineConfig({
  dialect: "mysql",
  schema: "./src/stores/drizzle/mysql/default-table.ts",
  out: "./drizzle/mysql",
});
