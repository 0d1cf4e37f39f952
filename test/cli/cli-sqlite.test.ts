import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureBuilt, failed, json, ok, tessera } from "./cli.js";
import { sqliteDatabase } from "./cli-databases.js";
import { describeCli } from "./cli-suite.js";

// A local file through @libsql/client: cheap per process, so the output variants run here too.
describeCli("SQLite (a file, @libsql/client)", sqliteDatabase, { purgeCount: 20_000 });

describe("tesserae on a SQLite file named every way the URL rules allow", () => {
  let dir: string;
  /** A migrated SQLite database whose name has no extension. */
  let plain: string;
  beforeAll(async () => {
    await ensureBuilt();
    dir = await mkdtemp(join(tmpdir(), "tessera-cli-urls-"));
    const created = join(dir, "created.sqlite3");
    expect(ok(await tessera(["migrate", "--database-url", created]))).toBe("applied 1 migration: 0000_init");
    plain = join(dir, "sessions");
    // SQLite's own copy (the file alone may leave recent pages behind in its WAL).
    const client = createClient({ url: pathToFileURL(created).href });
    await client.execute({ sql: "vacuum into ?", args: [plain] });
    client.close();
  }, 180_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("a SQLite file without an extension is known by its header: stats and purge work on it", async () => {
    expect(json(await tessera(["stats", "--json", "--database-url", plain]))).toMatchObject({ live: 0, expired: 0 });
    expect(json(await tessera(["purge", "--json", "--database-url", `file:${plain}`]))).toMatchObject({ deleted: 0 });
  });

  it("an empty file is an empty SQLite database: migrate fills it", async () => {
    const empty = join(dir, "empty");
    await writeFile(empty, "");
    expect(ok(await tessera(["migrate", "--database-url", empty]))).toBe("applied 1 migration: 0000_init");
    expect(json(await tessera(["stats", "--json", "--database-url", empty]))).toMatchObject({ live: 0 });
  });

  it("a symlink to a SQLite file is that file; one to nothing is refused (a file would be created where it points)", async () => {
    const link = join(dir, "link.db");
    await symlink(plain, link);
    expect(json(await tessera(["migrate", "--json", "--database-url", link]))).toEqual({
      applied: [],
      alreadyApplied: ["0000_init"],
    });
    const dangling = join(dir, "dangling.db");
    await symlink(join(dir, "elsewhere.db"), dangling);
    expect(failed(await tessera(["migrate", "--database-url", dangling]), 2)).toBe(
      `tesserae: ${dangling} is a symbolic link to nothing`,
    );
  });

  it("a file that is not SQLite is a usage error (exit 2), whatever its name, and is left as it was", async () => {
    const notes = join(dir, "notes.db");
    await writeFile(notes, "not a database\n");
    for (const command of ["migrate", "stats"]) {
      expect(failed(await tessera([command, "--database-url", notes]), 2)).toBe(
        `tesserae: ${notes} is not a SQLite database (no "SQLite format 3" header) nor a PGlite directory`,
      );
    }
    expect(await readFile(notes, "utf8")).toBe("not a database\n");
  });

  it("a missing file: only migrate creates it; the other commands refuse it (exit 1) and create nothing", async () => {
    const missing = join(dir, "missing.db");
    for (const args of [["stats"], ["purge"], ["revoke", "--where", "userId=u_1"], ["inspect", "--where", "userId=u_1"]]) {
      expect(failed(await tessera([...args, "--database-url", missing]), 1)).toBe(
        `tesserae: no SQLite database at ${missing} (tesserae migrate creates one)`,
      );
    }
    // Without an extension, a missing path is a PGlite directory: the message says which was looked for.
    expect(failed(await tessera(["stats", "--database-url", join(dir, "missing")]), 1)).toBe(
      `tesserae: no PGlite database at ${join(dir, "missing")} (tesserae migrate creates one)`,
    );
    expect(existsSync(missing)).toBe(false);
    const nowhere = join(dir, "no-such-folder", "sessions.db");
    expect(failed(await tessera(["migrate", "--database-url", nowhere]), 1)).toBe(
      `tesserae: cannot create the SQLite database ${nowhere}: its folder ${join(dir, "no-such-folder")} does not exist`,
    );
    expect(ok(await tessera(["migrate", "--database-url", missing]))).toBe("applied 1 migration: 0000_init");
  });

  it("a directory is a PGlite database even when named like a SQLite file", async () => {
    const pgdata = join(dir, "data.db");
    await mkdir(pgdata);
    expect(ok(await tessera(["migrate", "--database-url", pgdata]))).toBe("applied 1 migration: 0000_init");
    expect(json(await tessera(["stats", "--json", "--database-url", pgdata]))).toMatchObject({ live: 0 });
  }, 60_000);

  it("purge waits for a write lock the app holds (busy timeout) instead of failing with SQLITE_BUSY", async () => {
    const file = join(dir, "locked.db");
    expect(ok(await tessera(["migrate", "--database-url", file]))).toBe("applied 1 migration: 0000_init");
    const app = createClient({ url: pathToFileURL(file).href });
    try {
      const expiredAt = Date.now() - 60_000;
      await app.execute({
        sql: `insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev) values ('x', '{}', ?, ?, ?, 1, 1)`,
        args: [expiredAt, expiredAt, expiredAt],
      });
      // BEGIN IMMEDIATE: the write lock, held while the CLI starts and reaches its DELETE.
      const held = await app.transaction("write");
      await held.execute("update sessions set rev = rev + 1");
      const purge = tessera(["purge", "--json", "--database-url", file]);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await held.commit();
      expect(json(await purge)).toMatchObject({ deleted: 1 });
    } finally {
      app.close();
    }
  }, 60_000);

  it("sqlite: and libsql: URLs are usage errors that say to use file:", async () => {
    for (const url of ["sqlite:sessions.db", "libsql://db.example.turso.io?authToken=s3cret"]) {
      const line = failed(await tessera(["stats", "--database-url", url]), 2);
      expect(line).toContain("a SQLite file is file:<path> or the path");
      expect(line).not.toContain("s3cret");
    }
  });
});
