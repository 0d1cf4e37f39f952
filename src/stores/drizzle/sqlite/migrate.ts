import { sql } from "drizzle-orm";
import type { MigrationMeta } from "drizzle-orm/migrator";
import type { SQLiteSession } from "drizzle-orm/sqlite-core";
import { SQLiteAsyncDialect, SQLiteSyncDialect } from "drizzle-orm/sqlite-core";
import type { SqliteDb } from "../dialects.js";
import type { MigrateOptions } from "../migrate-options.js";
import { readMigrationsFolder } from "../migrations-folder.js";
import { migrations } from "./migrations.js";
import { sessionOf } from "./statement.js";

type AnySession = SQLiteSession<"sync" | "async", unknown, Record<string, never>, never>;
type MigratingSession = { migrate(queries: unknown[]): Promise<unknown> };

/**
 * `migrate` on a Drizzle SQLite database: the package's `drizzle/sqlite/` migrations (embedded as
 * code) or the app's `migrationsFolder`, recorded in `migrationsTable` as drizzle's own SQLite
 * migrators record them, so running it again applies nothing. `migrationsSchema` does not apply:
 * SQLite has no schemas, the table lives in the database itself.
 *
 * A file database is switched to WAL first (the setting persists in the file): readers then never
 * wait for the one writer, and a commit is one append to the log. Drivers that refuse the PRAGMA
 * (D1, remote Turso, where the server decides) keep their own journal.
 */
export async function migrateSqlite(db: SqliteDb, options: MigrateOptions): Promise<void> {
  const folder = options.migrationsFolder;
  const config = {
    migrationsFolder: folder ?? "",
    migrationsTable: options.migrationsTable ?? (folder === undefined ? "__tessera_migrations" : "__drizzle_migrations"),
  };
  // Copies of the shipped list: the migrator's MigrationMeta is mutable, the shipped list is not.
  const list: MigrationMeta[] =
    folder === undefined
      ? migrations.map(({ sql, folderMillis, hash, bps }) => ({ sql: [...sql], folderMillis, hash, bps }))
      : await readMigrationsFolder(folder);

  try {
    await db.run(sql`pragma journal_mode = wal`);
  } catch {
    // Not every SQLite lets a client choose its journal (D1, a remote libSQL server); the
    // migrations do not depend on it.
  }

  const session = sessionOf(db) as AnySession;
  if ((db as unknown as { resultKind: string }).resultKind === "sync") {
    // better-sqlite3: drizzle's own synchronous migrator, one BEGIN ... COMMIT.
    new SQLiteSyncDialect().migrate(list, session as never, config);
    return;
  }
  if (typeof (session as unknown as Partial<MigratingSession>).migrate === "function") {
    // libSQL: as drizzle's libSQL migrator, the pending statements in one batch on one connection
    // (`transaction()` would open another: an in-memory database is not there).
    await migrateInBatch(db, session as unknown as MigratingSession, list, config.migrationsTable);
    return;
  }
  await new SQLiteAsyncDialect().migrate(list, session as never, config);
}

async function migrateInBatch(db: SqliteDb, session: MigratingSession, list: MigrationMeta[], table: string): Promise<void> {
  const migrationsTable = sql.identifier(table);
  await db.run(
    sql`create table if not exists ${migrationsTable} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
  );
  const [last] = (await db.values(
    sql`select id, hash, created_at from ${migrationsTable} order by created_at desc limit 1`,
  )) as ArrayLike<unknown>[];
  const statements: unknown[] = [];
  for (const migration of list) {
    if (last !== undefined && Number(last[2]) >= migration.folderMillis) continue;
    for (const statement of migration.sql) statements.push(db.run(sql.raw(statement)));
    statements.push(
      db.run(sql`insert into ${migrationsTable} ("hash", "created_at") values (${migration.hash}, ${migration.folderMillis})`),
    );
  }
  if (statements.length > 0) await session.migrate(statements);
}
