/**
 * Issue 14 attack on the cookie-cache tier over the real Postgres (drizzleStore through
 * postgres.js) and PGlite: an operator on another connection revokes or edits rows by hand while
 * a browser holds a snapshot. Writes from the stale snapshot never bring a row back; hand edits
 * and corruption are seen at the window's end; corruption is then R43.
 */

import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { drizzleStore } from "../../src/stores/drizzle/index.js";
import { hashToken } from "../../src/token.js";
import { testClock } from "../helpers/clock.js";
import { attribute } from "../helpers/cookies.js";
import { databaseUrl, openPglite, openPostgresJs, type TestDatabase } from "../helpers/databases.js";

const SECRET = "issue14-postgres-cookie-cache-secret-0123456789";
const schema = z.object({ userId: z.string().optional(), role: z.enum(["user", "admin"]).optional() });

for (const kind of ["postgres", "pglite"] as const) {
  describe.skipIf(kind === "postgres" && !databaseUrl)(`issue 14 cookie cache over drizzleStore (${kind})`, () => {
    let database: TestDatabase;
    let other: { store: ReturnType<typeof drizzleStore>; close(): Promise<void> };
    beforeAll(async () => {
      database = kind === "postgres" ? await openPostgresJs(databaseUrl as string) : await openPglite();
      if (kind === "postgres") {
        // The operator's own connection, as the CLI would have.
        const client = postgres(database.url as string, { max: 1, onnotice: () => {} });
        other = { store: drizzleStore({ db: drizzle({ client }) }), close: () => client.end({ timeout: 5 }) };
      } else other = { store: database.store, close: async () => {} };
    });
    afterAll(async () => {
      await other?.close();
      await database?.close();
    });

    function managers() {
      const clock = testClock();
      const events: SessionEvent["type"][] = [];
      const app = defineSession({
        schema,
        store: database.store,
        cookie: { secure: false, name: "sid" },
        now: clock.now,
        onEvent: (event) => events.push(event.type),
        cookieCache: { maxAge: "30s", secrets: SECRET },
      });
      const cli = defineSession({ schema, store: other.store, cookie: { secure: false, name: "sid" }, now: clock.now });
      return { app, cli, clock, events };
    }

    async function loggedIn(app: ReturnType<typeof managers>["app"]) {
      const s = await app.load(null);
      s.set("userId", `u-${crypto.randomUUID()}`);
      s.set("role", "admin");
      const cookies = await s.commit();
      const header = cookies.map((c) => c.split(";")[0]).join("; ");
      const token = (cookies[0] as string).split(";")[0]?.split("=")[1] as string;
      return { header, token, userId: s.get("userId") as string };
    }

    const rows = async (id: string) =>
      Number((await database.query("select count(*)::int as n from sessions where id = $1", [id]))[0]?.n);

    it("revoked on another connection: every write from the snapshot within the window is refused, the row stays gone", async () => {
      const { app, cli, clock } = managers();
      const { header, token, userId } = await loggedIn(app);
      expect((await cli.operator.revoke({ where: { userId } })).count).toBe(1);
      clock.advance(10);
      const attempts: ((s: Awaited<ReturnType<typeof app.load>>) => unknown)[] = [
        (s) => s.set("role", "user"),
        (s) => {
          s.clear();
          s.set("userId", userId);
        },
        (s) => s.rotate(),
        (s) => s.login("userId", userId),
      ];
      for (const act of attempts) {
        const s = await app.load(header);
        expect(s.get("userId")).toBe(userId); // the documented window
        const outcome = await (async () => {
          await act(s);
          return s.commit();
        })().then(
          () => "ok",
          (e: { code?: string }) => e.code,
        );
        expect(outcome).toBe("SESSION_INTERRUPTED");
        expect(await rows(hashToken(token))).toBe(0);
      }
    });

    it("a role demoted by hand in SQL is read at the window's end, not before; never later", async () => {
      const { app, clock } = managers();
      const { header, token } = await loggedIn(app);
      const id = hashToken(token);
      await database.query(`update sessions set data = jsonb_set(data, '{role}', '{"json":"user"}'::jsonb) where id = $1`, [id]);
      clock.advance(29.999);
      expect((await app.load(header)).get("role")).toBe("admin");
      clock.advance(0.001);
      expect((await app.load(header)).get("role")).toBe("user");
    });

    it("a row corrupted by hand while a snapshot is held: served until the window ends, then R43 (fresh session, row deleted, snapshot cleared)", async () => {
      const { app, clock, events } = managers();
      const { header, token } = await loggedIn(app);
      const id = hashToken(token);
      await database.query(`update sessions set data = '[]'::jsonb where id = $1`, [id]);
      expect((await app.load(header)).isNew).toBe(false);
      clock.advance(30);
      const s = await app.load(header);
      expect(s.isNew).toBe(true);
      expect(events).toContain("corrupt");
      expect(await rows(id)).toBe(0);
      const sent = await s.commit();
      expect(sent.map((c) => `${c.split("=")[0]}:${attribute(c, "Max-Age")}`)).toEqual(["sid.cache:0"]);
    });
  });
}
