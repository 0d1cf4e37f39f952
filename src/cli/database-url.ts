import { closeSync, lstatSync, openSync, readSync, statSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describeError, failure, redactUrl, usage } from "./failure.js";

/** Which database `--database-url` names, and how to reach it. */
export type DatabaseTarget =
  | { kind: "postgres"; url: string }
  | { kind: "mysql"; url: string }
  | { kind: "sqlite"; path: string; exists: boolean }
  | { kind: "pglite"; path: string; exists: boolean };

/** What the usage error lists: every form `classify` accepts. */
export const ACCEPTED =
  "postgres://, postgresql://, mysql://, mariadb://, or file:/a path (a SQLite file, or a PGlite directory)";

/** Names that make a path that does not exist yet a SQLite file (and not a PGlite directory). */
const SQLITE_EXTENSIONS = /\.(db|sqlite|sqlite3|db3)$/i;

/** The first 16 bytes of every SQLite 3 database file (sqlite.org/fileformat.html, 1.3). */
const SQLITE_HEADER = Buffer.from("SQLite format 3\0", "latin1");

/**
 * Tells the databases apart by the URL, and for a path by what is there (docs/decisions.md,
 * "CLI: which database a URL names"):
 * - `postgres://`, `postgresql://` → Postgres; `mysql://`, `mariadb://` → MySQL/MariaDB;
 * - `file:` or a plain path: an existing directory → PGlite; an existing file → SQLite when
 *   it is empty or starts with SQLite's header, else a usage error; nothing there → SQLite when
 *   the name ends in .db/.sqlite/.sqlite3/.db3, else a PGlite directory (created by `migrate` only);
 * - any other scheme → a usage error listing these.
 * Symlinks are followed; one that points nowhere is refused (a file created through it would
 * land wherever it points).
 */
export function classify(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: "postgres", url };
  if (/^(mysql|mariadb):\/\//i.test(url)) {
    // Without one, every query would fail with MySQL's "No database selected".
    if (/^[a-z]+:\/\/[^/?#]*\/?(?:[?#]|$)/i.test(url)) {
      throw usage(`${redactUrl(url)} names no database: write it after the host (mysql://user@host:3306/<database>)`);
    }
    return { kind: "mysql", url };
  }
  const path = localPath(url);
  const info = statOrNull(path);
  if (info === null) {
    if (lstatOrNull(path) !== null) throw usage(`${path} is a symbolic link to nothing`);
    return { kind: SQLITE_EXTENSIONS.test(path) ? "sqlite" : "pglite", path, exists: false };
  }
  if (info.isDirectory()) return { kind: "pglite", path, exists: true };
  if (!info.isFile()) throw usage(`${path} is neither a SQLite file nor a PGlite directory`);
  // An empty file is an empty SQLite database to SQLite itself (it writes the header on the first change).
  if (info.size === 0 || startsWithSqliteHeader(path)) return { kind: "sqlite", path, exists: true };
  throw usage(`${path} is not a SQLite database (no "SQLite format 3" header) nor a PGlite directory`);
}

/**
 * `file:///abs/db`, `file:rel/db` (relative to the working directory) or a plain path → an
 * absolute path. `sqlite:` and `libsql:` are refused: `file:` is what @libsql/client and
 * drizzle take for a local file, and a remote libSQL database needs the app's own client
 * (`--config`).
 */
function localPath(url: string): string {
  let path = url;
  if (/^file:\/\//i.test(url)) {
    try {
      path = fileURLToPath(url);
    } catch (error) {
      throw usage(`unsupported database URL ${redactUrl(url)}: ${describeError(error)}`);
    }
  } else if (/^file:/i.test(url)) path = url.slice("file:".length);
  else if (/^(sqlite|libsql):/i.test(url)) {
    throw usage(
      `unsupported database URL scheme ${scheme(url)}: a SQLite file is file:<path> or the path; a remote libSQL database needs --config with your app's client`,
    );
  } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw usage(`unsupported database URL scheme ${scheme(url)}: use ${ACCEPTED}`);
  if (path === "" || path === ":memory:") {
    throw usage(`--database-url ${url} names no file: an in-memory database would end with the command`);
  }
  return isAbsolute(path) ? path : resolve(path);
}

/**
 * Only the scheme of a URL the CLI does not take: its query may hold a token (libSQL's
 * `authToken`, a cloud provider's key) that `redactUrl`, which knows passwords, would print.
 */
function scheme(url: string): string {
  return `${url.slice(0, url.indexOf(":")).toLowerCase()}:`;
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw failure(`cannot read ${path}: ${describeError(error)}`, error);
  }
}

function lstatOrNull(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function startsWithSqliteHeader(path: string): boolean {
  const head = Buffer.alloc(SQLITE_HEADER.length);
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    return readSync(fd, head, 0, head.length, 0) === head.length && head.equals(SQLITE_HEADER);
  } catch (error) {
    throw failure(`cannot read ${path}: ${describeError(error)}`, error);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
