/**
 * The shop's sessions table on SQLite (`DATABASE_URL=file:shop.db`): the same table as
 * db/postgres.ts in SQLite's types, from `tesserae/drizzle/sqlite`. drizzle-kit
 * (drizzle.sqlite.config.ts) writes its migrations into `drizzle/sqlite/`.
 */
import { text } from "drizzle-orm/sqlite-core";
import { sessionsTable } from "tesserae/drizzle/sqlite";

export const sessions = sessionsTable("sessions", { columns: { userId: text("user_id") } });
