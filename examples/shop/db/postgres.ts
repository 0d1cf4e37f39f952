/**
 * The shop's sessions table on PostgreSQL (and PGlite, the embedded default): what
 * `drizzle-kit generate` (drizzle.config.ts) turns into the migrations in `drizzle/postgres/`.
 *
 * The package's columns plus `user_id`, a column Postgres generates from the session's `userId`
 * and indexes, so "Your sessions" (`findMany({ where: { userId } })`) and
 * `revoke({ where: { userId } })` are index lookups. The shop owns this table: its own
 * migrations create it, and it does not call the package's `migrate(db)` without a folder.
 */
import { text } from "drizzle-orm/pg-core";
import { sessionsTable } from "tesserae/drizzle";

export const sessions = sessionsTable("sessions", { columns: { userId: text("user_id") } });
