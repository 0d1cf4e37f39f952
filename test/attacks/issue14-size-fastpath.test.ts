/**
 * Issue 14 attack on drizzleStore's maxBytes fast path (b05fd94): the core sends
 * `SessionPatch.expected = { rev, bytes }` and the UPDATE trusts `bytes` at that rev. The stored
 * size is measured in SQL (`octet_length(data::text)`) after each attempt: it must stay within
 * maxBytes, or not grow when a hand edit already put it over.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import { redisCache } from "../../src/stores/redis/index.js";
import { hashToken } from "../../src/token.js";
import { testClock } from "../helpers/clock.js";
import { databaseUrl, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { deleteKeys } from "../helpers/redis-keys.js";
import { redisUrl } from "../helpers/redis-server.js";

const MAX = 1000;
const schema = z.object({
  n: z.number().optional(),
  s: z.string().optional(),
  t: z.string().optional(),
  u: z.string().optional(),
});

/** Sets `key` and commits; whether the commit went through (a refusal is what these tests allow). */
async function setAndCommit(
  session: { set(key: "s" | "t" | "u", value: string): void; commit(): Promise<unknown> },
  key: "s" | "t" | "u",
  value: string,
) {
  try {
    session.set(key, value);
    await session.commit();
    return true;
  } catch {
    return false;
  }
}

/** The row's size after an attempt, which must be within MAX whether the commit went through or not. */
function expectWithin(before: number, after: number, committed: boolean) {
  expect(
    after,
    `row ${before} -> ${after} bytes (commit ${committed ? "succeeded" : "refused"}), maxBytes ${MAX}`,
  ).toBeLessThanOrEqual(MAX);
}

describe.skipIf(!databaseUrl)("issue 14: maxBytes fast path on Postgres (hand-written rows)", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
  });
  afterAll(async () => {
    await database?.close();
  });

  const app = () => defineSession({ schema, store: database.store, cookie: { secure: false, name: "sid" }, maxBytes: MAX });

  async function fresh(manager: ReturnType<typeof app>) {
    const s = await manager.load(null);
    s.set("s", "x");
    const cookies = await s.commit();
    const token = (cookies[0] as string).split(";")[0]?.split("=")[1] as string;
    return { cookie: `sid=${token}`, id: hashToken(token) };
  }
  const size = async (id: string) =>
    Number((await database.query("select octet_length(data::text) as n from sessions where id = $1", [id]))[0]?.n);
  const handWrite = async (id: string, json: string) =>
    database.query("update sessions set data = $1::jsonb where id = $2", [json, id]);

  /** Tries to grow the session by `value` in key `key`; true when the commit succeeded. */
  async function grow(manager: ReturnType<typeof app>, cookie: string, key: "s" | "t" | "u", value: string) {
    return setAndCommit(await manager.load(cookie), key, value);
  }

  const zeros = (n: number) => `1.${"0".repeat(n)}`;

  it("a number written as 1.000…0 next to a key not in the schema: the row never passes maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    // 600 zeros: jsonb keeps numeric's scale, so the row's text holds all of them, while the
    // parsed entry ({"json": 1}) measures a few bytes. The unknown key makes the load drop it, so
    // the core re-measures from the parsed entries.
    await handWrite(id, `{"n": {"json": ${zeros(600)}}, "zz": {"json": 1}}`);
    const before = await size(id);
    expect(before).toBeLessThan(MAX);
    await grow(manager, cookie, "s", "y".repeat(MAX - 100));
    const after = await size(id);
    expect(after, `row ${before} -> ${after} bytes, maxBytes ${MAX}`).toBeLessThanOrEqual(MAX);
  });

  it("a number written as 1.000…0 next to an invalid entry (read at the write): the row never passes maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    await handWrite(id, `{"n": {"json": ${zeros(600)}}, "t": {"json": 5}}`);
    const before = await size(id);
    await grow(manager, cookie, "s", "y".repeat(MAX - 100));
    const after = await size(id);
    expect(after, `row ${before} -> ${after} bytes, maxBytes ${MAX}`).toBeLessThanOrEqual(MAX);
  });

  it("a number written as 1.000…0, the request sets then discards a key before growing: the row never passes maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    await handWrite(id, `{"n": {"json": ${zeros(600)}}, "s": {"json": "x"}}`);
    const before = await size(id);
    const s = await manager.load(cookie);
    s.set("s", "z");
    s.discard();
    const ok = await setAndCommit(s, "t", "y".repeat(MAX - 100));
    expectWithin(before, await size(id), ok);
  });

  it("quantified at the default maxBytes (64 KiB): three numbers of 16,000 zeros hide ~48 KB, the row reaches ~1.7x the limit", async () => {
    const manager = defineSession({ schema, store: database.store, cookie: { secure: false, name: "sid" } });
    const { cookie, id } = await fresh(manager);
    await handWrite(
      id,
      `{"n": {"json": ${zeros(16000)}}, "t": {"json": "a", "meta": {"x": ${zeros(16000)}}}, "u": {"json": "b", "meta": {"x": ${zeros(16000)}}}, "zz": {"json": 1}}`,
    );
    const before = await size(id);
    expect(before).toBeLessThan(65536);
    await grow(manager, cookie, "s", "y".repeat(65000));
    const after = await size(id);
    expect(after, `row ${before} -> ${after} bytes, maxBytes 65536`).toBeLessThanOrEqual(65536);
  });

  // A hand edit must add one to rev, as every write of the store does (docs/stores.md): the
  // core's size after a patch is trusted only at the rev it was computed for.
  it("a hand edit bumping rev between a request's load and its commit: measured, the commit does not pass maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const s = await manager.load(cookie);
    await database.query(
      `update sessions set data = data || jsonb_build_object('t', jsonb_build_object('json', repeat('h', 500))), rev = rev + 1 where id = $1`,
      [id],
    );
    const before = await size(id);
    s.set("u", "u".repeat(480));
    const ok = await s.commit().then(
      () => true,
      () => false,
    );
    expectWithin(before, await size(id), ok);
  });

  it("a cookie-cache session over a hand-written row (rev bumped), once its snapshot is refreshed: the row never passes maxBytes", async () => {
    const clock = testClock();
    const manager = defineSession({
      schema,
      store: database.store,
      cookie: { secure: false, name: "sid" },
      maxBytes: MAX,
      now: clock.now,
      cookieCache: { maxAge: "30s", secrets: ["issue14-size-cookie-cache-secret-0123456789"] },
    });
    const first = await manager.load(null);
    first.set("s", "x");
    const lines = await first.commit();
    const jar = new Map(lines.map((l) => (l.split(";")[0] as string).split("=") as [string, string]));
    const header = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
    const id = hashToken(jar.get("sid") as string);
    await database.query("update sessions set data = $1::jsonb, rev = rev + 1 where id = $2", [
      `{"n": {"json": ${zeros(600)}}, "s": {"json": "x"}}`,
      id,
    ]);
    clock.advance(31);
    // The snapshot has aged: this load reads the row and seals a new snapshot of it.
    const refresh = await manager.load(header());
    refresh.set("t", "t");
    for (const l of await refresh.commit()) {
      const [k, v] = (l.split(";")[0] as string).split("=") as [string, string];
      jar.set(k, v);
    }
    const before = await size(id);
    clock.advance(1);
    const s = await manager.load(header());
    const ok = await setAndCommit(s, "u", "u".repeat(MAX - 100));
    expectWithin(before, await size(id), ok);
  });
});

describe.skipIf(!databaseUrl || !redisUrl)("issue 14: maxBytes fast path behind redisCache (hand-written rows)", () => {
  let database: TestDatabase;
  let redis: Redis;
  const prefix = `issue14-size-fp-${randomUUID().slice(0, 8)}:`;
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
    redis = new Redis(redisUrl as string);
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    await database?.close();
  });

  it("a number written as 1.000…0 (no dropped key), loaded from the cache's copy: the row never passes maxBytes", async () => {
    const manager = defineSession({
      schema,
      store: database.store,
      cache: redisCache({ redis, prefix }),
      cookie: { secure: false, name: "sid" },
      maxBytes: MAX,
    });
    const s = await manager.load(null);
    s.set("s", "x");
    const token = ((await s.commit())[0] as string).split(";")[0]?.split("=")[1] as string;
    const id = hashToken(token);
    await database.query("update sessions set data = $1::jsonb, rev = rev + 1 where id = $2", [
      `{"n": {"json": 1.${"0".repeat(600)}}, "s": {"json": "x"}}`,
      id,
    ]);
    // Drop the cache's copy so the next load reads the row and fills the cache with it.
    await deleteKeys(redis, `${prefix}*`);
    const fill = await manager.load(`sid=${token}`);
    expect(fill.get("n")).toBe(1);
    const size = async () =>
      Number((await database.query("select octet_length(data::text) as n from sessions where id = $1", [id]))[0]?.n);
    const before = await size();
    const r = await manager.load(`sid=${token}`);
    const ok = await setAndCommit(r, "t", "y".repeat(MAX - 100));
    expectWithin(before, await size(), ok);
  });
});
