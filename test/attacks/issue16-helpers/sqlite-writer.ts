/**
 * A writer in a process of its own for the SIGKILL attack: opens the SQLite file with the named
 * driver and, until killed, patches two keys of each of `chains` sessions in one patch (`a` and
 * `b` always equal) and rotates each chain to a new id (with and without a grace shadow). Prints
 * "ready" once it has written, then one line per round.
 *
 * Usage: node --import tsx test/attacks/issue16-helpers/sqlite-writer.ts <file> <libsql|better-sqlite3> <chains>
 */
import { randomBytes } from "node:crypto";
import { createClient } from "@libsql/client";
import Database from "better-sqlite3";
import { drizzle as drizzleBetterSqlite } from "drizzle-orm/better-sqlite3";
import { drizzle as drizzleLibsql } from "drizzle-orm/libsql";
import type { StoredSession } from "../../../src/store.js";
import { drizzleStore, type SqliteDb } from "../../../src/stores/drizzle/index.js";

const [file, driver, chainCount] = process.argv.slice(2) as [string, string, string];
const db: SqliteDb =
  driver === "libsql"
    ? drizzleLibsql({ client: createClient({ url: `file:${file}`, timeout: 5000 }) })
    : drizzleBetterSqlite({ client: new Database(file) });
const store = drizzleStore({ db });
const now = () => new Date();
const ids: string[] = [];
for (let c = 0; c < Number(chainCount); c++) {
  const found = (await store.find({ chain: c }, now()))[0];
  if (found === undefined) throw new Error(`chain ${c} has no live session`);
  ids.push(found.id);
}
process.stdout.write("ready\n");
for (let round = 1; ; round++) {
  for (let c = 0; c < ids.length; c++) {
    const id = ids[c] as string;
    const at = now();
    const payload = `${round}:${"x".repeat(2000)}`;
    await store.patch(
      id,
      {
        set: { a: { json: payload }, b: { json: payload } },
        deleted: [],
        expiresAt: new Date(at.getTime() + 3_600_000),
        updatedAt: at,
        schemaVersion: 1,
        maxBytes: 1 << 30,
      },
      at,
    );
    if (round % 2 === c % 2) {
      const current = (await store.get(id, at)) as StoredSession;
      const next: StoredSession = { ...current, id: randomBytes(32).toString("hex"), rev: 1, createdAt: at, updatedAt: at };
      delete next.measuredBytes;
      const grace = round % 3 === 0 ? new Date(at.getTime() + 60_000) : null;
      if (await store.rotate(id, next, grace, at)) ids[c] = next.id;
    }
  }
  process.stdout.write(`round ${round}\n`);
}
