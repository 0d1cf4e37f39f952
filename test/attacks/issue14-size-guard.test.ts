/**
 * Issue 14 attack on drizzleStore's maxBytes fast path (b05fd94) through the public API on the
 * real Postgres: concurrent requests on one session, a request that commits twice around another
 * request's write, rows already past the limit, hand edits that bump or keep `rev`, a redisCache
 * in front and a cookie-cache session. After each attempt the stored size is measured in SQL
 * (`octet_length(data::text)`): within maxBytes, or not grown when it was already past it.
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
const KEYS = Array.from({ length: 50 }, (_, i) => `k${i}`);
const schema = z.object({
  n: z.number().optional(),
  s: z.string().optional(),
  t: z.string().optional(),
  ...Object.fromEntries(KEYS.map((k) => [k, z.string().optional()])),
});
type Key = "s" | "t";

/** A cookie jar: Set-Cookie lines in, a Cookie header out (a cleared cookie is dropped). */
function jar() {
  const cookies = new Map<string, string>();
  return {
    take(lines: string[]) {
      for (const line of lines) {
        const [pair = "", ...attrs] = line.split(";");
        const eq = pair.indexOf("=");
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1);
        if (value === "" || attrs.some((a) => /max-age=0\b/i.test(a.trim()))) cookies.delete(name);
        else cookies.set(name, value);
      }
    },
    get header() {
      return [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    },
    get: (name: string) => cookies.get(name) as string,
  };
}

describe.skipIf(!databaseUrl)("issue 14: maxBytes on Postgres through the public API", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
  });
  afterAll(async () => {
    await database?.close();
  });

  const app = (options: { maxBytes?: number } = {}) =>
    defineSession({ schema, store: database.store, cookie: { secure: false, name: "sid" }, maxBytes: options.maxBytes ?? MAX });
  const size = async (id: string) =>
    Number((await database.query("select octet_length(data::text) as n from sessions where id = $1", [id]))[0]?.n);
  const rev = async (id: string) => Number((await database.query("select rev from sessions where id = $1", [id]))[0]?.rev);

  async function fresh(manager: ReturnType<typeof app>) {
    const s = await manager.load(null);
    s.set("s", "x");
    const cookies = await s.commit();
    const token = (cookies[0] as string).split(";")[0]?.split("=")[1] as string;
    return { cookie: `sid=${token}`, id: hashToken(token) };
  }

  async function attempt(run: () => Promise<unknown>) {
    try {
      await run();
      return true;
    } catch {
      return false;
    }
  }

  it("50 concurrent requests each adding 80 bytes to one session: the row stays within maxBytes, every success is stored", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const results = await Promise.all(
      KEYS.map(async (key) => {
        const s = await manager.load(cookie);
        return attempt(async () => {
          s.set(key as Key, "v".repeat(80));
          await s.commit();
        });
      }),
    );
    const stored = (await database.query("select data from sessions where id = $1", [id]))[0]?.data as Record<string, unknown>;
    const kept = KEYS.filter((k) => k in stored);
    expect(await size(id)).toBeLessThanOrEqual(MAX);
    expect(kept.length).toBe(results.filter(Boolean).length);
    expect(kept.length).toBeGreaterThan(5);
  });

  it("50 concurrent requests, each growing the session's own keys after loading it at the same rev: within maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const sessions = await Promise.all(KEYS.map(() => manager.load(cookie)));
    await Promise.all(
      sessions.map((s, i) =>
        attempt(async () => {
          s.set(KEYS[i] as Key, "w".repeat(30 + i));
          await s.commit();
          // A second commit of the same request: its rev no longer follows (others wrote in between).
          s.set("t", "t".repeat(i * 10));
          await s.commit();
        }),
      ),
    );
    expect(await size(id)).toBeLessThanOrEqual(MAX);
  });

  it("a request commits twice with another request's write in between: the second commit is measured, within maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const a = await manager.load(cookie);
    a.set("s", "a".repeat(400));
    await a.commit();
    const b = await manager.load(cookie);
    b.set("t", "b".repeat(500));
    await b.commit();
    const before = await size(id);
    // a still believes the row holds only its own 400 bytes: its second write would pass the limit.
    const ok = await attempt(async () => {
      a.set("s", "a".repeat(480));
      await a.commit();
    });
    const after = await size(id);
    expect(after <= MAX || after <= before, `row ${before} -> ${after} (commit ${ok})`).toBe(true);
    expect(ok).toBe(after <= MAX && after !== before);
  });

  it("another request's write lands between a request's load and its first commit: measured, within maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const a = await manager.load(cookie);
    const b = await manager.load(cookie);
    b.set("t", "b".repeat(500));
    await b.commit();
    a.set("s", "a".repeat(480));
    const ok = await attempt(() => a.commit());
    expect(ok).toBe(false);
    expect(await size(id)).toBeLessThanOrEqual(MAX);
  });

  it("a row already past maxBytes (written under a larger limit) never grows; it may shrink", async () => {
    const big = app({ maxBytes: 5000 });
    const { cookie, id } = await fresh(big);
    const s = await big.load(cookie);
    s.set("s", "x".repeat(2000));
    await s.commit();
    const manager = app();
    const before = await size(id);
    expect(before).toBeGreaterThan(MAX);
    const grew = await attempt(async () => {
      const r = await manager.load(cookie);
      r.set("t", "y");
      await r.commit();
    });
    expect(grew).toBe(false);
    expect(await size(id)).toBe(before);
    const shrank = await attempt(async () => {
      const r = await manager.load(cookie);
      r.set("s", "x".repeat(1500));
      await r.commit();
    });
    expect(shrank).toBe(true);
    expect(await size(id)).toBeLessThan(before);
  });

  it("hand-written rows whose text equals the parsed measure (1e2, -0, unicode escapes, keys needing escapes, duplicate keys): growth stops at maxBytes", async () => {
    const manager = app();
    const rows = [
      `{"n": {"json": 1e2}}`,
      `{"n": {"json": -0}}`,
      `{"n": {"json": 1.5e-7}}`,
      `{"n": {"json": 12345678901234567890123}}`,
      `{"s": {"json": "\\u00e9\\u00e9\\ud83d\\ude00\\u001f\\n\\/"}}`,
      `{"s": {"json": "a"}, "s": {"json": "${"b".repeat(300)}"}}`,
      `{"t": {"json": "x", "exp": 9999999999999}, "s": {"json": "q\\"\\\\"}}`,
    ];
    for (const json of rows) {
      const { cookie, id } = await fresh(manager);
      await database.query("update sessions set data = $1::jsonb, rev = rev + 1 where id = $2", [json, id]);
      for (let i = 0; i < 12; i++) {
        await attempt(async () => {
          const s = await manager.load(cookie);
          s.set(KEYS[i] as Key, "z".repeat(90));
          await s.commit();
        });
      }
      expect(await size(id), json).toBeLessThanOrEqual(MAX);
    }
  });

  it("a number hand-written as 99999999999999999999 (read back one digit longer): at most one byte per such entry past maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    await database.query(
      `update sessions set data = '{"n": {"json": 99999999999999999999}}'::jsonb, rev = rev + 1 where id = $1`,
      [id],
    );
    for (let i = 0; i < 12; i++) {
      await attempt(async () => {
        const s = await manager.load(cookie);
        if (i === 0) s.delete("n");
        s.set(KEYS[i] as Key, "z".repeat(90));
        await s.commit();
      });
    }
    expect(await size(id)).toBeLessThanOrEqual(MAX);
  });

  it("rows edited by hand with rev bumped between a request's load and its commit: the commit is measured", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const s = await manager.load(cookie);
    await database.query(
      `update sessions set data = data || jsonb_build_object('t', jsonb_build_object('json', repeat('h', 500))), rev = rev + 1 where id = $1`,
      [id],
    );
    s.set("s", "s".repeat(480));
    const ok = await attempt(() => s.commit());
    expect(ok).toBe(false);
    expect(await size(id)).toBeLessThanOrEqual(MAX);
  });

  it("rev set back by hand to a lower value than any request holds: the commit is measured", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const s = await manager.load(cookie);
    const held = await rev(id);
    await database.query(
      `update sessions set data = data || jsonb_build_object('t', jsonb_build_object('json', repeat('h', 500))), rev = $2 where id = $1`,
      [id, held - 1],
    );
    s.set("s", "s".repeat(480));
    await attempt(() => s.commit());
    expect(await size(id)).toBeLessThanOrEqual(MAX);
  });

  it("rotate then grow, and discard of a key before growing (row written by the API only): within maxBytes", async () => {
    const manager = app();
    const { cookie, id } = await fresh(manager);
    const s = await manager.load(cookie);
    s.set("t", "t".repeat(300));
    await s.commit();
    await s.rotate();
    const cookies = await s.commit();
    const token = (cookies.find((c) => c.startsWith("sid=")) as string).split(";")[0]?.split("=")[1] as string;
    const newId = hashToken(token);
    expect(newId).not.toBe(id);
    for (let i = 0; i < 12; i++) {
      await attempt(async () => {
        const r = await manager.load(`sid=${token}`);
        r.set(KEYS[i] as Key, "q".repeat(90));
        r.set("s", "zz");
        r.discard("s");
        await r.commit();
      });
    }
    expect(await size(newId)).toBeLessThanOrEqual(MAX);
  });

  it("a cookie-cache session (snapshot loads) growing key by key: within maxBytes", async () => {
    const clock = testClock();
    const manager = defineSession({
      schema,
      store: database.store,
      cookie: { secure: false, name: "sid" },
      maxBytes: MAX,
      now: clock.now,
      cookieCache: { maxAge: "30s", secrets: ["issue14-size-cookie-cache-secret-0123456789"] },
    });
    const cookies = jar();
    const first = await manager.load(null);
    first.set("s", "x");
    cookies.take(await first.commit());
    const id = hashToken(cookies.get("sid"));
    for (let i = 0; i < 15; i++) {
      clock.advance(1);
      await attempt(async () => {
        const s = await manager.load(cookies.header);
        s.set(KEYS[i] as Key, "c".repeat(90));
        cookies.take(await s.commit());
      });
    }
    expect(await size(id)).toBeLessThanOrEqual(MAX);
  });
});

describe.skipIf(!databaseUrl || !redisUrl)("issue 14: maxBytes on Postgres behind redisCache", () => {
  let database: TestDatabase;
  let redis: Redis;
  const prefix = `issue14-size-${randomUUID().slice(0, 8)}:`;
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
    redis = new Redis(redisUrl as string);
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
    await database?.close();
  });

  it("growing key by key through the cache (copies carry no measured size): within maxBytes", async () => {
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
    let successes = 0;
    for (let i = 0; i < 15; i++) {
      try {
        const r = await manager.load(`sid=${token}`);
        r.set(KEYS[i] as Key, "r".repeat(90));
        await r.commit();
        successes++;
      } catch {}
    }
    const size = Number((await database.query("select octet_length(data::text) as n from sessions where id = $1", [id]))[0]?.n);
    expect(size).toBeLessThanOrEqual(MAX);
    expect(successes).toBeGreaterThan(5);
  });
});

describe.skipIf(!databaseUrl)("issue 14: measuredBytes against Σ jsonbEntryBytes", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
  });
  afterAll(async () => {
    await database?.close();
  });

  const values: unknown[] = [
    0,
    -0,
    1e21,
    1e-7,
    -1.5e-300,
    5e-324,
    Number.MAX_VALUE,
    123456789.125,
    'é😀\u001f\n\t"\\/\u007f\u2028',
    "",
    { b: 1, a: [1e100, null, true, { 'k"ey': "v" }] },
    [[[[[]]]]],
    new Date(0),
    new Map([["x", 1e30]]),
    new Set(["a", 2]),
    10n ** 40n,
  ];

  it("rows written through the API: measuredBytes is octet_length(data::text) and Σ jsonbEntryBytes over the entries", async () => {
    const { jsonbEntryBytes } = await import("../../src/stores/drizzle/jsonb-size.js");
    const manager = defineSession({
      schema: z.object({ v: z.any(), w: z.any(), 'key "with" escapes\n': z.any() }),
      store: database.store,
      cookie: { secure: false, name: "sid" },
    });
    for (const value of values) {
      const s = await manager.load(null);
      s.set("v", value);
      s.set("w", [value, value]);
      s.set('key "with" escapes\n', { value });
      const token = ((await s.commit())[0] as string).split(";")[0]?.split("=")[1] as string;
      const id = hashToken(token);
      const row = await database.store.get(id, new Date());
      const sql = Number((await database.query("select octet_length(data::text) as n from sessions where id = $1", [id]))[0]?.n);
      const sum = Object.entries(row?.data ?? {}).reduce((n, [k, e]) => n + jsonbEntryBytes(k, e), 0);
      expect(row?.measuredBytes, String(value)).toBe(sql);
      expect(sum, String(value)).toBe(sql);
    }
  });
});
