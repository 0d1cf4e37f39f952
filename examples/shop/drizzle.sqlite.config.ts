import { defineConfig } from "drizzle-kit";

// The SQLite table's migrations (see drizzle.config.ts).
export default defineConfig({ dialect: "sqlite", schema: "./db/sqlite.ts", out: "./drizzle/sqlite" });
