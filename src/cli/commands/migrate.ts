import { readFileSync } from "node:fs";
import { migrate } from "../../stores/drizzle/index.js";
import { type Connection, connect } from "../connection.js";
import { counted } from "../format.js";
import { type Io, printJson } from "../io.js";
import type { GlobalOptions } from "../open-operator.js";

export interface MigrateCommandOptions extends GlobalOptions {
  json?: boolean;
}

interface JournalEntry {
  tag: string;
  when: number;
}

/**
 * `tesserae migrate`: `migrate(db)` from `tesserae/drizzle`, plus a report of what it did. The
 * migrator itself says nothing, so the rows of its table are read before and after: drizzle
 * records each migration's journal `when` as `created_at`, which names it through the journal.
 */
export async function migrateCommand(options: MigrateCommandOptions, io: Io): Promise<void> {
  const journal = readJournal();
  const connection = await connect(options.databaseUrl, { create: true });
  try {
    const before = await recorded(connection);
    await migrate(connection.db);
    const after = await recorded(connection);
    const applied = journal.filter((m) => after.has(m.when) && !before.has(m.when)).map((m) => m.tag);
    const alreadyApplied = journal.filter((m) => before.has(m.when)).map((m) => m.tag);
    if (options.json) printJson(io, { applied, alreadyApplied });
    else if (applied.length > 0) io.out(`applied ${counted(applied.length, "migration")}: ${applied.join(", ")}`);
    else io.out(`up to date: ${counted(alreadyApplied.length, "migration")} already applied`);
  } finally {
    await connection.close();
  }
}

/**
 * The package's `drizzle/postgres/meta/_journal.json`. src/cli/commands/ and dist/cli/commands/ are both
 * three levels below the package root, where `drizzle/` ships (`files` in package.json).
 */
function readJournal(): JournalEntry[] {
  const text = readFileSync(new URL("../../../drizzle/postgres/meta/_journal.json", import.meta.url), "utf8");
  const entries = (JSON.parse(text) as { entries: JournalEntry[] }).entries;
  return [...entries].sort((a, b) => a.when - b.when);
}

/** The `created_at` of every recorded migration; none when the table does not exist yet. */
async function recorded(connection: Connection): Promise<Set<number>> {
  const [exists] = await connection.query(`select to_regclass('drizzle."__tessera_migrations"') is not null as present`);
  if (exists?.present !== true) return new Set();
  const rows = await connection.query(`select created_at from drizzle."__tessera_migrations"`);
  // bigint: a string from postgres.js, a number or bigint from PGlite.
  return new Set(rows.map((row) => Number(String(row.created_at))));
}
