import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashToken, sessionTag } from "../../src/token.js";
import { tokenOf } from "../helpers/cookies.js";
import { ensureBuilt, failed, fixture, json, ok, tessera } from "./cli.js";
import type { CliDatabase, Connected, UrlForm } from "./cli-databases.js";
import { missingTable, type Query, type Row, SEEDED_LIVE } from "./cli-dialect-sql.js";
import { cliMysqlTable, cliSessions, cliSqliteTable, cliTable } from "./fixtures/cli-sessions.js";

export interface CliSuiteOptions {
  /** Expired sessions for the purge test, beside as many live ones. */
  purgeCount: number;
  /**
   * Also every output variant (text and `--json` of each command, typed and ANDed `--where`,
   * `--limit`, `--top`, VACUUM counts). They test the CLI, not the driver, so they run on the
   * server, where a run costs a fraction of PGlite's (~1.5 s a process: the WebAssembly
   * instance and the data directory are loaded every time). @default true
   */
  variants?: boolean;
  /** False skips the suite (no server configured). */
  enabled?: boolean;
}

/** What `--json` of `stats` prints. */
interface Stats {
  live: number;
  expired: number;
  createdLastHour: number;
  createdLastDay: number;
  bytes: { p50: number; p95: number; max: number };
  top: { field: string; values: { value: unknown; sessions: number }[] }[];
}

/** One element of `inspect`'s array. */
interface Inspected {
  tag: string;
  createdAt: string;
  updatedAt: string;
  expiresAt: string;
  schemaVersion: number;
  data: Record<string, unknown>;
}

/** A session the test created through the manager: what the CLI must never print (id, token) and what it may (tag). */
interface Created {
  userId: string;
  token: string;
  id: string;
  tag: string;
  createdAt: Date;
  lastLogin: Date;
  roles: string[];
}

const DAY_MS = 86_400_000;
const formatted = (n: number) => n.toLocaleString("en-US");

const live = (data: Record<string, unknown>, createdSecondsAgo = 7200): Row => ({
  data,
  expiresInSeconds: DAY_MS / 1000,
  createdSecondsAgo,
});
const expired = (data: Record<string, unknown>): Row => ({ data, expiresInSeconds: -3600, createdSecondsAgo: 3 * 3600 });

/** `id in (…)` over ids the test inserted. */
const idIn = (ids: readonly string[]) => `id in (${ids.map((id) => `'${id}'`).join(", ")})`;

/** The `cli_sessions` table of the `--config` fixture, in the database's dialect. */
function cliTableOf(kind: CliDatabase["kind"]): unknown {
  if (kind === "sqlite") return cliSqliteTable();
  return kind === "mysql" ? cliMysqlTable() : cliTable;
}

/**
 * The `tesserae` CLI end to end on one database: the built bin as a subprocess, checked against
 * SQL run by the test. The tests of one suite run in order on one database and build on each
 * other (the purge leaves live sessions that the stats count).
 */
export function describeCli(name: string, open: () => Promise<CliDatabase>, options: CliSuiteOptions): void {
  const variants = options.variants !== false;
  /** A test of output variants only: registered where `variants` is on. */
  const itVariant: typeof it = variants ? it : ((() => undefined) as unknown as typeof it);

  describe.skipIf(options.enabled === false)(`tessera CLI on ${name}`, () => {
    let database: CliDatabase;
    beforeAll(async () => {
      await ensureBuilt();
      database = await open();
    }, 180_000);
    afterAll(async () => {
      await database?.close();
    });

    const N = options.purgeCount;
    const atUrl = (...args: string[]) => tessera([...args, "--database-url", database.url]);
    const withConfig = (...args: string[]) =>
      tessera([...args, "--config", fixture("config.ts")], { env: { DATABASE_URL: database.url } });
    const number = async (query: Query, text: string, params?: unknown[]) => Number((await query(text, params))[0]?.n);
    const countWhere = (condition?: string, table?: string) => database.use((c) => c.sql.count(condition, table));
    /** Condition: the session expired (by the database's clock, in its encoding of times). */
    const notLive = () => database.use(async (c) => `not (${c.sql.live})`);
    // Manual VACUUMs of the sessions table; Postgres 15+ records them at once in shared memory.
    const vacuumCount = () =>
      database.use((c) =>
        number(
          c.query,
          "select coalesce((select vacuum_count from pg_stat_user_tables where relname = 'sessions'), 0)::int as n",
        ),
      );
    const checksVacuum = () => variants && database.kind === "postgres";

    itVariant("an SQL error (stats before migrate) exits 1 with one line that gives the database's reason", async () => {
      if (database.kind === "sqlite") {
        // No file yet: only migrate creates one, the other commands say so and leave nothing behind.
        expect(failed(await atUrl("stats"), 1)).toBe(
          `tesserae: no SQLite database at ${database.url} (tesserae migrate creates one)`,
        );
        expect(existsSync(database.url)).toBe(false);
        return;
      }
      const line = failed(await atUrl("stats"), 1);
      expect(line).toContain(missingTable(database.kind === "mysql" ? "mysql" : "postgres", "sessions"));
      expect(line).toContain("(run tesserae migrate, or pass --config for your own table)");
    });

    it("migrate applies 0000_init; run again, it is a no-op that says so", async () => {
      expect(ok(await atUrl("migrate"))).toBe("applied 1 migration: 0000_init");
      // --database-url defaults to $DATABASE_URL.
      expect(ok(await tessera(["migrate"], { env: { DATABASE_URL: database.url } }))).toBe(
        "up to date: 1 migration already applied",
      );
      await database.use(async ({ sql }) => {
        const migrated = await sql.migrated();
        expect(migrated).toMatchObject({ sessions: true, recorded: 1 });
        expect(migrated.indexes).toContain("sessions_expires_at_idx");
        // Back to a database that never saw Tessera, for --json.
        await sql.unmigrate();
      });
    });

    it("migrate --json lists 0000_init as applied, then as already applied, whatever the URL's spelling", async () => {
      const migrate = (form: UrlForm) =>
        tessera(["migrate", "--json", "--database-url", form.url], form.cwd === undefined ? {} : { cwd: form.cwd });
      const [first, ...rest] = database.otherForms as [UrlForm, ...UrlForm[]];
      expect(json(await migrate(first))).toEqual({ applied: ["0000_init"], alreadyApplied: [] });
      for (const form of rest) expect(json(await migrate(form))).toEqual({ applied: [], alreadyApplied: ["0000_init"] });
    });

    describe(`purge of ${formatted(N)} expired among ${formatted(N)} live sessions`, () => {
      // Ids shaped as Tessera writes them (64 hex digits), from the row number: in order, which fills
      // the primary key faster than sha256s would, and lets the test tell the live ones (SEEDED_LIVE).
      beforeAll(async () => {
        await database.use(({ sql }) => sql.seed(N));
      }, 60_000);

      it("--dry-run reports the expired count and deletes nothing", async () => {
        expect(json(await atUrl("purge", "--dry-run", "--json"))).toMatchObject({ deleted: N, dryRun: true });
        // Without `variants`, the next test's `deleted: N` shows that nothing went here.
        if (variants) {
          expect(ok(await atUrl("purge", "--dry-run"))).toBe(`${formatted(N)} expired sessions would be purged`);
          expect(await countWhere()).toBe(2 * N);
        }
      });

      it("deletes exactly the expired sessions and keeps every live one (then VACUUM (ANALYZE) on Postgres, ANALYZE on SQLite)", async () => {
        const vacuumsBefore = checksVacuum() ? await vacuumCount() : 0;
        // SQLite keeps ANALYZE's statistics in sqlite_stat1, which only ANALYZE creates.
        const analyzed = () => countWhere("type = 'table' and name = 'sqlite_stat1'", "sqlite_master");
        if (database.kind === "sqlite") expect(await analyzed()).toBe(0);
        const result = await atUrl("purge", "--json");
        // Not a TTY: no progress bar, on either stream.
        expect(result.stderr).toBe("");
        const report = json<{ deleted: number; seconds: number; rowsPerSecond: number; dryRun: boolean }>(result);
        expect(report).toEqual({ deleted: N, seconds: expect.any(Number), rowsPerSecond: expect.any(Number), dryRun: false });
        expect(report.seconds).toBeGreaterThan(0);
        expect(report.rowsPerSecond).toBeGreaterThan(0);
        await database.use(async ({ sql }) => {
          expect(await sql.count()).toBe(N);
          expect(await sql.count(`not (${sql.live})`)).toBe(0);
          expect(await sql.count(SEEDED_LIVE)).toBe(N);
        });
        if (checksVacuum()) expect(await vacuumCount()).toBe(vacuumsBefore + 1);
        if (database.kind === "sqlite") expect(await analyzed()).toBe(1);
      });

      itVariant("--batch 10 --no-vacuum prints the count and the rate, and runs no VACUUM", async () => {
        await database.use(({ sql }) =>
          sql.insertRows(
            "sessions",
            Array.from({ length: 25 }, () => expired({})),
          ),
        );
        const vacuumsBefore = checksVacuum() ? await vacuumCount() : 0;
        const result = await atUrl("purge", "--batch", "10", "--no-vacuum");
        expect(result.stderr).toBe("");
        expect(ok(result)).toMatch(/^purged 25 expired sessions in \d+(\.\d+)? s \([\d,]+ rows\/s\)$/);
        expect(await countWhere(await notLive())).toBe(0);
        expect(await countWhere()).toBe(N);
        if (checksVacuum()) expect(await vacuumCount()).toBe(vacuumsBefore);
      });

      itVariant("with nothing expired it deletes 0 and runs no VACUUM", async () => {
        const vacuumsBefore = checksVacuum() ? await vacuumCount() : 0;
        expect(json(await atUrl("purge", "--json"))).toMatchObject({ deleted: 0, dryRun: false });
        if (checksVacuum()) expect(await vacuumCount()).toBe(vacuumsBefore);
      });
    });

    describe("revoke, inspect and stats on the default table (no indexed columns: a scan of data)", () => {
      let tenants: string[] = [];
      let u123: string[] = [];
      let u456: string[] = [];
      beforeAll(async () => {
        await database.use(async ({ sql }) => {
          u123 = await sql.insertRows(
            "sessions",
            Array.from({ length: 3 }, () => live({ userId: "u_123" })),
          );
          u456 = await sql.insertRows("sessions", [
            ...Array.from({ length: 2 }, () => live({ userId: "u_456" })),
            expired({ userId: "u_456" }),
          ]);
          await sql.insertRows("sessions", [
            ...Array.from({ length: 7 }, () => expired({ userId: "u_789" })),
            ...Array.from({ length: 4 }, (_, i) => live({ userId: "u_789", note: "x".repeat(100 * (i + 1)) }, 600)),
          ]);
          if (variants) {
            tenants = await sql.insertRows("sessions", [
              live({ tenant: 42 }),
              live({ tenant: 42, beta: true }),
              live({ tenant: "42" }),
            ]);
          }
        });
      });

      it("revoke --where userId=u_123 deletes u_123's 3 sessions and nothing else", async () => {
        expect(ok(await atUrl("revoke", "--where", "userId=u_123"))).toBe("revoked 3 sessions");
        await database.use(async ({ sql }) => {
          expect(await sql.count(idIn(u123))).toBe(0);
          expect(await sql.count(idIn(u456))).toBe(3);
          expect(await sql.count()).toBe(N + 3 + 11 + tenants.length);
        });
      });

      itVariant(
        "field=value compares with a string, field:=json with a number or boolean, several --where are ANDed",
        async () => {
          const [number42, number42beta, string42] = tenants as [string, string, string];
          const revoke = async (...where: string[]) =>
            json(await atUrl("revoke", "--json", ...where.flatMap((clause) => ["--where", clause])));
          expect(await revoke("tenant:=42", "beta:=true")).toEqual({ revoked: 1, tags: [sessionTag(number42beta)] });
          expect(await revoke("tenant=42")).toEqual({ revoked: 1, tags: [sessionTag(string42)] });
          expect(await revoke("tenant:=42")).toEqual({ revoked: 1, tags: [sessionTag(number42)] });
          expect(await revoke("tenant:=42")).toEqual({ revoked: 0, tags: [] });
        },
      );

      itVariant("inspect --where userId=u_456 lists u_456's live sessions", async () => {
        const list = json<Inspected[]>(await atUrl("inspect", "--where", "userId=u_456"));
        expect(list).toHaveLength(2);
        for (const session of list) expect(session.data).toEqual({ userId: "u_456" });
      });

      it("stats --json equals the same counts and sizes in SQL; top is empty without indexed columns", async () => {
        const expected = await database.use(({ sql }) => sql.stats("sessions"));
        expect(expected).toMatchObject({ live: N + 2 + 4, expired: 8, createdLastHour: 4 });
        expect(json(await atUrl("stats", "--json"))).toEqual({ ...expected, top: [] });
        if (variants) expect(ok(await atUrl("stats"))).not.toBe("");
      });
    });

    describe("with --config (the app's manager: table cli_sessions, userId in an indexed column)", () => {
      const created: Created[] = [];
      // The sessions' clock: half an hour ago, one second further per session, so that they sort by creation.
      let clock = Date.now() - 30 * 60_000;

      /** Creates sessions through the manager's own API, as the app does on login. */
      const createSessions = (db: Connected["db"], userId: string, count: number) => {
        const sessions = cliSessions(db, { now: () => clock });
        return (async () => {
          for (let i = 0; i < count; i++) {
            clock += 1000;
            const session = await sessions.load(undefined);
            const lastLogin = new Date(clock - 5000);
            const roles = ["reader", `${userId}-${i}`];
            session.update({ userId, lastLogin, roles });
            const token = tokenOf(await session.commit());
            created.push({
              userId,
              token,
              id: hashToken(token),
              tag: session.tag as string,
              createdAt: new Date(clock),
              lastLogin,
              roles,
            });
          }
        })();
      };

      /** Asserts that no id or token of any session created here appears in `text`, nor any 64-hex string. */
      const expectNoSecrets = (text: string) => {
        for (const session of created) {
          expect(text).not.toContain(session.id);
          expect(text).not.toContain(session.token);
        }
        expect(text).not.toMatch(/[0-9a-f]{64}/);
      };

      itVariant("an SQL error through the app's store (its table is missing) exits 1 with the database's reason", async () => {
        const kind = database.kind === "pglite" ? "postgres" : database.kind;
        expect(failed(await withConfig("stats"), 1)).toContain(missingTable(kind, "cli_sessions"));
      });

      it("revoke --where userId=u_123 --json revokes u_123's 3 sessions, named by their tags only", async () => {
        await database.use(async ({ db, sql }) => {
          await sql.createTable(cliTableOf(database.kind));
          await sql.insertRows("cli_sessions", [
            // Expired: not live, so `inspect` leaves it out and `stats` counts it as expired.
            expired({ userId: "u_456" }),
            // For `top`: t_k has k live sessions, distinct counts, so the top 10 (t_12 … t_3) has one order.
            ...Array.from({ length: 12 }, (_, k) => Array.from({ length: k + 1 }, () => live({ userId: `t_${k + 1}` }))).flat(),
            // Expired sessions do not count in top.
            ...Array.from({ length: 20 }, () => expired({ userId: "t_1" })),
          ]);
          await createSessions(db, "u_123", 3);
          await createSessions(db, "u_456", 2);
        });
        const result = await withConfig("revoke", "--where", "userId=u_123", "--json");
        const report = json<{ revoked: number; tags: string[] }>(result);
        const u123 = created.filter((session) => session.userId === "u_123");
        expect(report.revoked).toBe(3);
        expect([...report.tags].sort()).toEqual(u123.map((session) => session.tag).sort());
        for (const tag of report.tags) expect(tag).toMatch(/^[0-9a-f]{12}$/);
        expectNoSecrets(result.stdout + result.stderr);
        await database.use(async ({ db, sql }) => {
          expect(await sql.count("user_id = 'u_123'", "cli_sessions")).toBe(0);
          expect(await sql.count("user_id = 'u_456'", "cli_sessions")).toBe(3);
          // Their tokens no longer open anything.
          const sessions = cliSessions(db, { now: () => clock });
          for (const session of u123) expect(await sessions.get(session.token)).toBeNull();
        });
      });

      itVariant("revoke --where userId=u_123 prints `revoked 3 sessions`", async () => {
        await database.use(({ db }) => createSessions(db, "u_123", 3));
        expect(ok(await withConfig("revoke", "--where", "userId=u_123"))).toBe("revoked 3 sessions");
        expect(await countWhere("user_id = 'u_123'", "cli_sessions")).toBe(0);
        expect(await countWhere("user_id = 'u_456'", "cli_sessions")).toBe(3);
      });

      it("inspect --where userId=u_456 prints u_456's 2 live sessions newest first, data decoded, no id or token", async () => {
        const result = await withConfig("inspect", "--where", "userId=u_456");
        const list = json<Inspected[]>(result);
        const expected = created
          .filter((session) => session.userId === "u_456")
          .reverse()
          .map((session) => ({
            tag: session.tag,
            createdAt: session.createdAt.toISOString(),
            updatedAt: session.createdAt.toISOString(),
            // maxAge defaults to 14 days.
            expiresAt: new Date(session.createdAt.getTime() + 14 * DAY_MS).toISOString(),
            schemaVersion: 1,
            data: { userId: "u_456", lastLogin: session.lastLogin.toISOString(), roles: session.roles },
          }));
        expect(list).toEqual(expected);
        expectNoSecrets(result.stdout + result.stderr);
        if (variants) {
          expect(json(await withConfig("inspect", "--where", "userId=u_456", "--limit", "1"))).toEqual(expected.slice(0, 1));
          expect(json(await withConfig("inspect", "--where", "userId=nobody"))).toEqual([]);
        }
      });

      it("stats --json equals SQL, and top lists userId's most frequent live values as a GROUP BY does", async () => {
        const { expected, groups } = await database.use(async ({ sql }) => ({
          expected: await sql.stats("cli_sessions"),
          groups: await sql.topUsers(),
        }));
        expect(groups).toHaveLength(10);
        expect(groups[0]).toEqual({ value: "t_12", sessions: 12 });
        expect(json(await withConfig("stats", "--json"))).toEqual({ ...expected, top: [{ field: "userId", values: groups }] });
        if (variants) {
          expect(json<Stats>(await withConfig("stats", "--json", "--top", "3")).top).toEqual([
            { field: "userId", values: groups.slice(0, 3) },
          ]);
        }
        if (variants && database.kind === "postgres") {
          // The manager as an .mts module's default export: the same store, so the same numbers.
          const viaDefault = await tessera(["stats", "--json", "--config", fixture("default-export.mts")], {
            env: { DATABASE_URL: database.url },
          });
          expect(json(viaDefault)).toEqual({ ...expected, top: [{ field: "userId", values: groups }] });
        }
      });
    });
  });
}
