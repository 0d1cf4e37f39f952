import { defineConfig } from "drizzle-kit";

// Generates the migrations shipped in `drizzle/sqlite/` for the default SQLite table only; users
// with their own `sessionsTable(...)` from `tesserae/drizzle/sqlite` generate theirs.
export default defineConfig({
  dialect: "sqlite",
  schema: "./src/stores/drizzle/sqlite/default-table.ts",
  out: "./drizzle/sqlite",
});
