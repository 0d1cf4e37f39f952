import { defineConfig } from "drizzle-kit";

// One drizzle-kit configuration per dialect, each with its own migrations folder, which the shop
// applies on start with `migrate(db, { migrationsFolder })` (lib/database.ts picks the folder).
// `npm run db:generate` runs all three. This one: PostgreSQL and PGlite.
export default defineConfig({ dialect: "postgresql", schema: "./db/postgres.ts", out: "./drizzle/postgres" });
