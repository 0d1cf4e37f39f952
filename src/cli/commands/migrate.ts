import { readFileSync } from "node:fs";
import { migrate } from "../../stores/drizzle/index.js";
import { connect, type Dialect } from "../connection.js";
import { counted } from "../format.js";
import { type Io, printJson } from "../io.js";
import { recordedMigrations } from "../migrations-record.js";
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
  const connection = await connect(options.databaseUrl, { create: true });
  try {
    const journal = readJournal(connection.dialect);
    const before = await recordedMigrations(connection);
    await migrate(connection.db);
    const after = await recordedMigrations(connection);
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
 * The package's `drizzle/<dialect>/meta/_journal.json`. src/cli/commands/ and dist/cli/commands/
 * are both three levels below the package root, where `drizzle/` ships (`files` in package.json).
 */
function readJournal(dialect: Dialect): JournalEntry[] {
  const path = `../../../drizzle/${dialect}/meta/_journal.json`;
  const text = readFileSync(new URL(path, import.meta.url), "utf8");
  const entries = (JSON.parse(text) as { entries: JournalEntry[] }).entries;
  return [...entries].sort((a, b) => a.when - b.when);
}
