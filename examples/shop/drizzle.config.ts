import { defineConfig } from "drizzle-kit";

// `npm run db:generate` (drizzle-kit generate) writes the migrations of db/schema.ts into
// drizzle/, which the shop applies on start with `migrate(db, { migrationsFolder: "drizzle" })`.
export default defineConfig({ dialect: "postgresql", schema: "./db/schema.ts", out: "./drizzle" });
