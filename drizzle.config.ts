import { defineConfig } from "drizzle-kit";

// Generates the migrations shipped in `drizzle/` for the default table only; users with their
// own `sessionsTable(...)` generate theirs from their own schema.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/stores/drizzle/default-table.ts",
  out: "./drizzle/postgres",
});
