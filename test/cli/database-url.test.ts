import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classify } from "../../src/cli/database-url.js";
import { CliFailure } from "../../src/cli/failure.js";

/** The exit code and message `classify` refuses `url` with. */
function refusal(url: string): { code: number; message: string } {
  try {
    classify(url);
  } catch (error) {
    if (error instanceof CliFailure) return { code: error.exitCode, message: error.message };
    throw error;
  }
  throw new Error(`classify accepted ${url}`);
}

describe("which database --database-url names (docs/decisions.md, CLI: which database a URL names)", () => {
  let dir: string;
  /** A real SQLite database, written by SQLite, in a file named without an extension. */
  let sqliteNoExtension: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "tessera-url-"));
    sqliteNoExtension = join(dir, "sessions");
    const client = createClient({ url: pathToFileURL(sqliteNoExtension).href });
    await client.execute("create table t (x integer)");
    client.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("postgres://, postgresql:// are Postgres; mysql://, mariadb:// are MySQL, in any case", () => {
    expect(classify("postgres://u@h/db")).toEqual({ kind: "postgres", url: "postgres://u@h/db" });
    expect(classify("POSTGRESQL://u@h/db").kind).toBe("postgres");
    expect(classify("mysql://root@127.0.0.1:3306/test")).toEqual({ kind: "mysql", url: "mysql://root@127.0.0.1:3306/test" });
    expect(classify("mariadb://root:pw@127.0.0.1/test").kind).toBe("mysql");
  });

  it("a MySQL URL without a database is a usage error, without the password", () => {
    for (const url of [
      "mysql://root:s3cret@127.0.0.1:3306",
      "mariadb://root:s3cret@127.0.0.1/",
      "mysql://root:s3cret@h/?ssl=true",
    ]) {
      const { code, message } = refusal(url);
      expect(code).toBe(2);
      expect(message).toContain("names no database");
      expect(message).not.toContain("s3cret");
    }
    expect(classify("mysql://root@127.0.0.1/app?charset=utf8mb4").kind).toBe("mysql");
  });

  it("a file SQLite wrote is SQLite whatever its name, by path, file: URL or relative file:", () => {
    const expected = { kind: "sqlite", path: sqliteNoExtension, exists: true };
    expect(classify(sqliteNoExtension)).toEqual(expected);
    expect(classify(pathToFileURL(sqliteNoExtension).href)).toEqual(expected);
    const relative = join(dir, "x", "..", "sessions");
    expect(classify(`file:${relative}`)).toEqual(expected);
  });

  it("an empty file is SQLite (SQLite writes its header on the first change)", () => {
    const empty = join(dir, "empty");
    writeFileSync(empty, "");
    expect(classify(empty)).toEqual({ kind: "sqlite", path: empty, exists: true });
  });

  it("a file that is not SQLite is a usage error, even named .db", () => {
    for (const name of ["notes.db", "notes.txt"]) {
      const path = join(dir, name);
      writeFileSync(path, "SQLite format 2 and then some text that is long enough");
      expect(refusal(path)).toEqual({
        code: 2,
        message: `${path} is not a SQLite database (no "SQLite format 3" header) nor a PGlite directory`,
      });
    }
    // Shorter than the header.
    const short = join(dir, "short");
    writeFileSync(short, "SQLite");
    expect(refusal(short).code).toBe(2);
  });

  it("an existing directory is PGlite, even named .db", () => {
    const pgdata = join(dir, "data.db");
    mkdirSync(pgdata);
    expect(classify(pgdata)).toEqual({ kind: "pglite", path: pgdata, exists: true });
    expect(classify(`${pathToFileURL(pgdata).href}/`).kind).toBe("pglite");
  });

  it("nothing there: SQLite for .db, .sqlite, .sqlite3, .db3 (any case), else a PGlite directory", () => {
    for (const name of ["a.db", "a.sqlite", "a.sqlite3", "a.db3", "A.DB"]) {
      expect(classify(join(dir, name))).toEqual({ kind: "sqlite", path: join(dir, name), exists: false });
    }
    for (const name of ["pgdata", "a.db.d", "a.sqlite4", "a.json"]) {
      expect(classify(join(dir, name))).toEqual({ kind: "pglite", path: join(dir, name), exists: false });
    }
  });

  it("a symlink is followed: to a SQLite file it is SQLite, to a directory PGlite, to nothing refused", () => {
    const toFile = join(dir, "link-to-file");
    symlinkSync(sqliteNoExtension, toFile);
    expect(classify(toFile)).toEqual({ kind: "sqlite", path: toFile, exists: true });
    const toDir = join(dir, "link-to-dir");
    symlinkSync(dir, toDir);
    expect(classify(toDir).kind).toBe("pglite");
    // A file created through it would land wherever it points.
    const dangling = join(dir, "dangling.db");
    symlinkSync(join(dir, "missing.db"), dangling);
    expect(refusal(dangling)).toEqual({ code: 2, message: `${dangling} is a symbolic link to nothing` });
  });

  it("a FIFO is refused without being read (reading one would block)", () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    expect(refusal(fifo)).toEqual({ code: 2, message: `${fifo} is neither a SQLite file nor a PGlite directory` });
  });

  it("other schemes are usage errors that list what works, without the password", () => {
    for (const url of ["redis://u:s3cret@127.0.0.1:6379", "mongodb://u:s3cret@h/db", "https://h/db?key=s3cret"]) {
      const { code, message } = refusal(url);
      expect(code).toBe(2);
      expect(message).toContain("postgres://, postgresql://, mysql://, mariadb://, or file:");
      expect(message).not.toContain("s3cret");
    }
  });

  it("sqlite: and libsql: are refused with the form to use instead", () => {
    for (const url of ["sqlite:sessions.db", "sqlite:///tmp/sessions.db", "libsql://db.turso.io?authToken=secret"]) {
      const { code, message } = refusal(url);
      expect(code).toBe(2);
      expect(message).toContain("a SQLite file is file:<path> or the path");
      // Only the scheme: a libSQL URL's authToken is a secret that no password rule would hide.
      expect(message).not.toContain("secret");
    }
  });

  it(":memory: and an empty file: name no file and are refused", () => {
    expect(refusal(":memory:").code).toBe(2);
    expect(refusal("file:").code).toBe(2);
    expect(refusal("file::memory:").code).toBe(2);
  });
});
