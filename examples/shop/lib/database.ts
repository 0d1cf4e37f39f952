/**
 * Which database the shop runs on: one variable, `DATABASE_URL`, decides.
 *
 * | `DATABASE_URL`                          | database                                     |
 * |-----------------------------------------|----------------------------------------------|
 * | unset or empty                          | embedded PGlite (`embedded-db.ts`)           |
 * | `postgres://…`, `postgresql://…`        | that PostgreSQL, through postgres.js         |
 * | `mysql://…`, `mariadb://…`              | that MySQL or MariaDB, through a mysql2 pool |
 * | `file:<path>` naming a SQLite file      | that SQLite file, through @libsql/client     |
 * | `file:<path>` naming a folder           | PGlite in that folder                        |
 *
 * A `file:` path is a SQLite file when a file is there, or when nothing is there yet and its
 * name ends in `.db`, `.sqlite`, `.sqlite3` or `.db3` (it is created); a folder that exists, or
 * a new name without those endings, is a PGlite data folder. That is the rule the `tesserae`
 * CLI applies to `--database-url`, so `npx tesserae stats --database-url file:shop.db` opens
 * the database the shop wrote. `file:` paths are relative to the working directory (the
 * shop's folder under `npm run demo`); `file:///abs/path` URLs work too.
 */
import { statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { embeddedLocation } from "./embedded-db";

export type Dialect = "postgres" | "sqlite" | "mysql";

export type ShopDatabase =
  /** PGlite: a data folder, or `"memory"` (`SHOP_PGLITE=memory`). */
  | { kind: "pglite"; location: string }
  | { kind: "postgres"; url: string }
  /** An absolute path to the SQLite file. */
  | { kind: "sqlite"; file: string }
  | { kind: "mysql"; url: string };

const SQLITE_NAME = /\.(db|sqlite|sqlite3|db3)$/i;

/** The database `DATABASE_URL` names (see the table above). */
export function shopDatabase(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): ShopDatabase {
  const url = env.DATABASE_URL;
  if (url === undefined || url === "") return { kind: "pglite", location: embeddedLocation(env, cwd) };
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: "postgres", url };
  // mysql2 reads host, port, user, password and database from any URL; the scheme only says which.
  if (/^(mysql|mariadb):\/\//i.test(url)) return { kind: "mysql", url };
  if (/^file:/i.test(url)) {
    const named = /^file:\/\//i.test(url) ? fileURLToPath(url) : url.slice("file:".length);
    if (named === "") throw new Error("DATABASE_URL=file: names no file: write file:shop.db (SQLite) or file:<folder> (PGlite)");
    const resolved = path.resolve(cwd, named);
    // A path known only at run time: told to Turbopack, which would otherwise trace (and ship)
    // the whole project for it.
    const found = statSync(/*turbopackIgnore: true*/ resolved, { throwIfNoEntry: false });
    if (found === undefined ? SQLITE_NAME.test(resolved) : !found.isDirectory()) return { kind: "sqlite", file: resolved };
    return { kind: "pglite", location: resolved };
  }
  // Only the scheme: the rest of the URL may hold a password.
  const scheme = /^[a-z][a-z0-9+.-]*:/i.exec(url)?.[0] ?? "(no scheme)";
  throw new Error(
    `DATABASE_URL: unsupported scheme ${scheme}; use postgres://, postgresql://, mysql://, mariadb:// or file:<path> (SQLite file or PGlite folder)`,
  );
}

/** The dialect of a database: whose table and migrations the shop uses on it. */
export function dialectOf(database: ShopDatabase): Dialect {
  return database.kind === "pglite" ? "postgres" : database.kind;
}

/**
 * The shop's drizzle-kit migrations for that dialect (`npm run db:generate` writes them),
 * relative to the working directory: the app runs from its own folder (`npm start`, which
 * `npm run demo:start` runs there), like any app whose migrations sit beside its package.json.
 */
export function migrationsFolderOf(database: ShopDatabase): string {
  return `drizzle/${dialectOf(database)}`;
}

/** What the page footer says the sessions are stored in. */
export function databaseLabel(database: ShopDatabase): string {
  switch (database.kind) {
    case "pglite":
      return "embedded PGlite";
    case "postgres":
      return "PostgreSQL";
    case "sqlite":
      return "SQLite (libSQL)";
    case "mysql":
      return "MySQL/MariaDB";
  }
}
