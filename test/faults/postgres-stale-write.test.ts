import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, SessionStoreError } from "../../src/index.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { canStartPostgres, type PrivatePostgres, startPostgres } from "../helpers/postgres-server.js";

const schema = z.object({ done: z.array(z.number().int()).default([]) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!canStartPostgres)("a write that timed out while PostgreSQL was down", () => {
  let pg: PrivatePostgres | undefined;
  beforeAll(async () => {
    pg = await startPostgres();
  });
  afterAll(async () => {
    await pg?.destroy();
  });

  // Found by the restart test (issue 11 C, "no committed write is lost"). The guard's
  // storeTimeout rejects the caller but cannot cancel the query, and postgres.js keeps a query
  // handed to a connection that is backing off (default back-off: up to 20 s, growing with
  // failed attempts) and runs it once that connection is back. Without `SessionPatch.notAfter`
  // a commit the app answered 503 for landed after a later, successful commit of the same key
  // and reverted it; with it, the late UPDATE matches no row and writes nothing.
  it("a commit that failed with storeTimeout during an outage does not revert a later committed write after the restart", async () => {
    if (pg === undefined) throw new Error("setup failed");
    // The default back-off's behaviour, made deterministic: the test sets each connection's delay.
    let backoff = 0;
    const client = postgres(pg.url, { max: 2, onnotice: () => {}, backoff: () => backoff });
    try {
      const db = drizzle({ client });
      await migrate(db);
      const sessions = defineSession({ schema, store: drizzleStore({ db }), storeTimeout: 0.5 });
      const first = await sessions.load(undefined);
      first.set("done", [0]);
      const cookie = cookieHeader(await first.commit());
      await Promise.all([sessions.load(cookie), sessions.load(cookie)]); // both connections open

      const a = await sessions.load(cookie);
      await pg.stop();
      // Connection 1 fails to reconnect and backs off 3 s; then connection 2 fails and backs off 0 s.
      // (postgres.js computes the delay on the socket's close, just after the query's rejection.)
      backoff = 3;
      await expect(sessions.load(cookie)).rejects.toBeInstanceOf(SessionStoreError);
      await sleep(100);
      backoff = 0;
      await expect(sessions.load(cookie)).rejects.toBeInstanceOf(SessionStoreError);
      await sleep(100);

      // Request A's commit waits on connection 1's back-off: the app is told it failed (a 503).
      a.set("done", [...a.get("done"), 1]);
      const timedOut = await a.commit().catch((error: unknown) => error);
      expect(timedOut).toBeInstanceOf(SessionStoreError);
      expect((timedOut as Error).message).toContain("did not answer");
      await pg.start();

      // Request B, after the restart, on connection 2: committed.
      const b = await sessions.load(cookie);
      b.set("done", [...b.get("done"), 2]);
      await b.commit();
      expect((await sessions.load(cookie)).get("done")).toEqual([0, 2]);

      // Connection 1 comes back and runs A's patch, which nobody waits for any more: [0, 1].
      await sleep(3500);
      expect((await sessions.load(cookie)).get("done")).toContain(2);
    } finally {
      await client.end({ timeout: 1 });
    }
  });
});
