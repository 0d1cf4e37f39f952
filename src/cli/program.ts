import { readFileSync } from "node:fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CliFailure, describeError } from "./failure.js";
import type { Io } from "./io.js";
import type { GlobalOptions } from "./open-operator.js";

/**
 * The `tesserae` command line (docs/cli.md). Commands are imported when run, so `--help` and
 * a usage mistake load no database driver, and a command needs only the optional peers it uses.
 * Returns the exit code instead of exiting: the caller closes and exits.
 */
export async function main(argv: readonly string[], io: Io, printError: (line: string) => void): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (error) {
    const { code, message } = outcome(error);
    if (message !== null) printError(`tesserae: ${message}`);
    return code;
  }
}

function outcome(error: unknown): { code: 0 | 1 | 2; message: string | null } {
  if (error instanceof CliFailure) return { code: error.exitCode, message: error.message };
  if (error instanceof CommanderError) {
    // --help, --version and `tesserae help` end through here too, having printed what was asked.
    if (error.exitCode === 0) return { code: 0, message: null };
    // No command at all: commander would print the whole help on stderr; one line says more.
    if (error.code === "commander.help") return { code: 2, message: "no command given (see tesserae --help)" };
    // "error: unknown command 'purg'\n(Did you mean purge?)" → one line without the prefix.
    const message = error.message.replace(/^error:\s*/i, "").replace(/\s*\n\s*/g, " ");
    return { code: 2, message };
  }
  return { code: 1, message: describeError(error) };
}

function buildProgram(io: Io): Command {
  const program = new Command("tesserae")
    .description(
      "Operate Tessera sessions: apply migrations, purge expired sessions, see stats, revoke or inspect sessions, import express-session sessions.",
    )
    .version(packageVersion(), "-V, --version")
    .addOption(
      new Option(
        "--database-url <url>",
        "postgres://… (postgres.js), mysql://… or mariadb://… (mysql2), a SQLite file (file:… or a path; @libsql/client), or a PGlite directory",
      ).env("DATABASE_URL"),
    )
    .addOption(
      new Option("--redis-url <url>", "revoke also drops the redisCache copies of what it deletes (ignored with --config)").env(
        "REDIS_URL",
      ),
    )
    .option("--config <file>", "module exporting your defineSession(...) manager as `sessions` or default (.ts/.mts/.js/.mjs)")
    // Settings before the subcommands: `.command()` copies them (exit handling, output, help).
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, "")),
      // Errors are reported by `main` as one `tesserae: …` line, not by commander.
      writeErr: () => {},
      outputError: () => {},
    });

  program
    .command("migrate")
    .description("apply the package's migrations (the default `sessions` table) that the database has not recorded")
    .option("--json", "print one JSON object")
    .action(async (_options: unknown, command: Command) => {
      const { migrateCommand } = await import("./commands/migrate.js");
      await migrateCommand(command.optsWithGlobals<GlobalOptions & { json?: boolean }>(), io);
    });

  program
    .command("purge")
    .description(
      "delete expired sessions in batches, then tidy the table (VACUUM (ANALYZE) on Postgres, ANALYZE on SQLite and MySQL)",
    )
    .option("--batch <n>", "rows per DELETE", positiveInteger, 10_000)
    .option("--dry-run", "count the expired sessions, delete nothing")
    .option("--no-vacuum", "no VACUUM/ANALYZE afterwards")
    .option("--json", "print one JSON object, no progress bar")
    .action(async (_options: unknown, command: Command) => {
      const { purgeCommand } = await import("./commands/purge.js");
      await purgeCommand(command.optsWithGlobals(), io);
    });

  program
    .command("stats")
    .description("live and expired counts, recent creations, data sizes, most frequent indexed values (Drizzle store)")
    .option("--top <n>", "values shown per indexed column", positiveInteger, 10)
    .option("--json", "print one JSON object")
    .action(async (_options: unknown, command: Command) => {
      const { statsCommand } = await import("./commands/stats.js");
      await statsCommand(command.optsWithGlobals(), io);
    });

  program
    .command("revoke")
    .description("delete every session whose field equals the value (several --where are ANDed)")
    .option("--where <field>=<value>", "a string value; <field>:=<json> for a number or boolean (repeatable)", collect)
    .option("--json", "print one JSON object")
    .action(async (_options: unknown, command: Command) => {
      const { revokeCommand } = await import("./commands/revoke.js");
      await revokeCommand(command.optsWithGlobals(), io);
    });

  program
    .command("inspect")
    .description("print the matching live sessions as JSON, newest first (tags, never ids or tokens)")
    .option("--where <field>=<value>", "a string value; <field>:=<json> for a number or boolean (repeatable)", collect)
    .option("--limit <n>", "most sessions printed", positiveInteger, 100)
    // The output is always JSON; accepted so that scripts can pass --json to every command.
    .addOption(new Option("--json").hideHelp())
    .action(async (_options: unknown, command: Command) => {
      const { inspectCommand } = await import("./commands/inspect.js");
      await inspectCommand(command.optsWithGlobals(), io);
    });

  program
    .command("import")
    .description("import express-session sessions (connect-redis or connect-pg-simple) into the --config manager's store")
    .requiredOption("--from <store>", "connect-redis (with --redis-url) or connect-pg-simple (with --database-url)")
    .option("--prefix <prefix>", "connect-redis's key prefix", "sess:")
    .option("--table <name>", "connect-pg-simple's table", "session")
    .option("--schema <name>", "connect-pg-simple's schema", "public")
    .option("--report <file>", "where rejected sessions are listed (JSON lines)", "tesserae-import-report.jsonl")
    .option("--concurrency <n>", "sessions written at once", positiveInteger, 16)
    .option("--dry-run", "validate and report, write nothing")
    .option("--json", "print one JSON object, no progress bar")
    .action(async (_options: unknown, command: Command) => {
      const { importCommand } = await import("./commands/import.js");
      await importCommand(command.optsWithGlobals(), io);
    });

  return program;
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError("expected a positive integer");
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** src/cli/ and dist/cli/ are both two levels below package.json. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}
