/**
 * The SQLite lines' databases: one new file per contender in a folder of the run's own under
 * `os.tmpdir()`, removed with everything in it at the end of the run (and on Ctrl-C), and the
 * settings both contenders of a line open their file with, so a floor and Tessera's line differ
 * only in the library between them and the driver.
 */
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** A run's SQLite folder: `file:` URLs of new files in it, and its removal. */
export class SqliteFiles {
  readonly folder: string;
  #count = 0;

  constructor(runId: string) {
    this.folder = join(tmpdir(), `tessera-bench-${runId}`);
  }

  /** The `file:` URL of a new database file (SQLite creates it on open). */
  next(): string {
    mkdirSync(this.folder, { recursive: true });
    return pathToFileURL(join(this.folder, `contender-${this.#count++}.db`)).href;
  }

  /** Removes the folder and every file in it (the databases with their -wal and -shm files). */
  remove(): number {
    rmSync(this.folder, { recursive: true, force: true });
    return this.#count;
  }
}

/**
 * better-sqlite3, both contenders: WAL (readers never wait for the writer), `synchronous =
 * NORMAL` (in WAL mode: no fsync at commit, only at checkpoints; a commit survives a crash of
 * the process, not of the machine: the analogue of Postgres' `synchronous_commit = off`, the
 * line issue 14's Postgres bars are taken on), and a busy timeout as any app sets.
 */
export const BETTER_SQLITE3_PRAGMAS = ["journal_mode = WAL", "synchronous = NORMAL", "busy_timeout = 5000"] as const;

/**
 * libSQL's local-file client, both contenders: WAL, set once on the file (it persists). The
 * client pools connections (`concurrency`, one per open transaction) and gives no hook to set a
 * per-connection pragma on each, so every connection runs with the client's defaults:
 * `synchronous = FULL` (an fsync of the WAL at every commit: the durable setting, like MariaDB's
 * `innodb_flush_log_at_trx_commit = 1`) and the busy timeout of the client's `timeout` option.
 */
export const LIBSQL_FILE_PRAGMAS = ["journal_mode = WAL"] as const;

/** libSQL client options, both contenders (`timeout`: the busy timeout, ms). */
export const libsqlConfig = (url: string, poolSize: number) => ({ url, concurrency: poolSize, timeout: 5000 });
