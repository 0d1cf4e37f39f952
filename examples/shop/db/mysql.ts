/**
 * The shop's sessions table on MySQL or MariaDB (`DATABASE_URL=mysql://…`): the same table as
 * db/postgres.ts in MySQL's types, from `tesserae/drizzle/mysql`. MySQL indexes only bounded
 * strings, so `user_id` is a varchar as long as the longest name the shop accepts allows
 * (lib/schema.ts: 32 characters; 255 leaves room). drizzle-kit (drizzle.mysql.config.ts) writes
 * its migrations into `drizzle/mysql/`.
 */
import { varchar } from "drizzle-orm/mysql-core";
import { sessionsTable } from "tesserae/drizzle/mysql";

export const sessions = sessionsTable("sessions", { columns: { userId: varchar("user_id", { length: 255 }) } });
