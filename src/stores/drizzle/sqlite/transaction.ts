import type { SQL } from "drizzle-orm";
import type { SqliteDb } from "../dialects.js";
import { changesOf } from "./statement.js";

type SyncDb = {
  transaction<T>(run: (tx: { run(query: SQL): unknown }) => T, config: { behavior: "immediate" }): T;
};
type BatchDb = { batch(items: unknown[]): Promise<unknown[]>; run(query: SQL): unknown };
type AsyncDb = {
  transaction<T>(run: (tx: { run(query: SQL): Promise<unknown> }) => Promise<T>, config: { behavior: "immediate" }): Promise<T>;
};

/**
 * Runs `statements` in one transaction and returns how many rows each changed, without an
 * interactive transaction where the driver allows it:
 * - better-sqlite3 (`resultKind` "sync"): a synchronous `BEGIN IMMEDIATE` transaction; nothing
 *   else runs on the connection meanwhile, since nothing awaits inside it.
 * - libSQL and D1 (`db.batch`): one batch, which the driver runs as one transaction on one
 *   connection. libSQL's `transaction()` would take a connection of its own (an in-memory
 *   database exists only on the connection that opened it; PRAGMAs are per connection). The
 *   batch begins DEFERRED, but its first statement writes, so it takes the write lock before it
 *   reads anything, as `BEGIN IMMEDIATE` would.
 * - any other async driver: an interactive `BEGIN IMMEDIATE` transaction.
 */
export async function atomically(db: SqliteDb, statements: readonly SQL[]): Promise<number[]> {
  if ((db as unknown as { resultKind: string }).resultKind === "sync") {
    return (db as unknown as SyncDb).transaction((tx) => statements.map((statement) => changesOf(tx.run(statement))), {
      behavior: "immediate",
    });
  }
  const batching = db as unknown as Partial<BatchDb>;
  if (typeof batching.batch === "function" && typeof batching.run === "function") {
    const run = batching.run.bind(db);
    const results = await batching.batch(statements.map((statement) => run(statement)));
    return results.map(changesOf);
  }
  return (db as unknown as AsyncDb).transaction(
    async (tx) => {
      const changes: number[] = [];
      for (const statement of statements) changes.push(changesOf(await tx.run(statement)));
      return changes;
    },
    { behavior: "immediate" },
  );
}
