import type { Connection, Dialect } from "./connection.js";

/**
 * The raw SQL `tesserae migrate` runs to read what the migrator recorded, per dialect: the
 * only SQL the CLI writes itself (every other command goes through the store's operator
 * queries, which each dialect's store implements). `migrate(db)` records the package's
 * migrations in `__tessera_migrations`, drizzle's table with each migration's journal `when`
 * as `created_at`: in the `drizzle` schema on Postgres, in the file on SQLite (no schemas), in
 * the connection's database on MySQL.
 */
const RECORD: Record<Dialect, { present: string; createdAt: string }> = {
  postgres: {
    present: `select (to_regclass('drizzle."__tessera_migrations"') is not null)::int as n`,
    createdAt: `select created_at from drizzle."__tessera_migrations"`,
  },
  sqlite: {
    present: `select count(*) as n from sqlite_master where type = 'table' and name = '__tessera_migrations'`,
    createdAt: `select created_at from "__tessera_migrations"`,
  },
  mysql: {
    present: `select count(*) as n from information_schema.tables
              where table_schema = database() and table_name = '__tessera_migrations'`,
    createdAt: "select created_at from `__tessera_migrations`",
  },
};

/** The `created_at` of every migration recorded; none when the table does not exist yet. */
export async function recordedMigrations(connection: Connection): Promise<Set<number>> {
  const sql = RECORD[connection.dialect];
  const [exists] = await connection.query(sql.present);
  if (Number(exists?.n ?? 0) === 0) return new Set();
  const rows = await connection.query(sql.createdAt);
  // A bigint as a string (postgres.js, mysql2), a number or bigint (PGlite, libSQL's numeric).
  return new Set(rows.map((row) => Number(String(row.created_at))));
}
