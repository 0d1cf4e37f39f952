/**
 * Issue 16 attack on the SQLite store: a writer process SIGKILLed in the middle of a stream of
 * patches and rotations on a file database in WAL mode (libSQL and better-sqlite3). Afterwards
 * the file opens and passes `integrity_check`, every session's two keys written by one patch are
 * equal (no torn patch), and every rotation chain has exactly one live session (an interrupted
 * rotate leaves the old or the new one, never both or neither); every grace shadow is empty.
 */
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { StoredSession } from "../../src/store.js";
import { openBetterSqlite } from "../helpers/sqlite-databases.js";

const CHAINS = 8;

function writer(file: string, driver: string): { proc: ChildProcessWithoutNullStreams; rounds: () => number } {
  const proc = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      fileURLToPath(new URL("./issue16-helpers/sqlite-writer.ts", import.meta.url)),
      file,
      driver,
      String(CHAINS),
    ],
    { stdio: "pipe", cwd: fileURLToPath(new URL("../..", import.meta.url)) },
  );
  let output = "";
  proc.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { proc, rounds: () => (output.match(/^round /gm) ?? []).length };
}

describe("issue 16 SQLite: a writer SIGKILLed mid-write leaves no torn session", () => {
  for (const driver of ["libsql", "better-sqlite3"]) {
    it(`${driver}: three kills at different moments, the file stays consistent`, async () => {
      // The file, migrated (WAL) and seeded by one store; the writer opens its own connection.
      const database = await openBetterSqlite();
      const file = database.file as string;
      try {
        const now = new Date();
        for (let c = 0; c < CHAINS; c++) {
          const record: StoredSession = {
            id: `seed${c}`.padEnd(64, "0"),
            data: { chain: { json: c }, a: { json: "0" }, b: { json: "0" } },
            expiresAt: new Date(now.getTime() + 3_600_000),
            absoluteExpiresAt: null,
            createdAt: now,
            updatedAt: now,
            schemaVersion: 1,
            rev: 1,
            successorId: null,
          };
          await database.store.create(record);
        }
        for (let kill = 0; kill < 3; kill++) {
          const w = writer(file, driver);
          // Let it get going, then kill it at a moment that differs from kill to kill.
          while (w.rounds() < 3 + kill * 2) {
            if (w.proc.exitCode !== null) throw new Error("the writer died on its own");
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          await new Promise((resolve) => setTimeout(resolve, kill * 3));
          w.proc.kill("SIGKILL");
          await once(w.proc, "exit");

          const check = new Database(file);
          try {
            expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
            expect(check.pragma("journal_mode", { simple: true })).toBe("wal");
            const rows = check
              .prepare(
                `select id, successor_id as successor, json_extract(data, '$.chain.json') as chain,
                  json_extract(data, '$.a.json') as a, json_extract(data, '$.b.json') as b from sessions`,
              )
              .all() as { id: string; successor: string | null; chain: number | null; a: string; b: string }[];
            const live = rows.filter((row) => row.successor === null);
            for (let c = 0; c < CHAINS; c++) expect(live.filter((row) => row.chain === c).length, `chain ${c}`).toBe(1);
            for (const row of live) expect(row.a, row.id).toBe(row.b);
            // A shadow holds no data (its successor may be gone since: a later rotate without grace).
            for (const row of rows) if (row.successor !== null) expect([row.chain, row.a], row.id).toEqual([null, null]);
          } finally {
            check.close();
          }
        }
      } finally {
        await database.close();
      }
    }, 120_000);
  }
});
