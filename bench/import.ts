/**
 * Issue 15.5's figures: 100,000 express-session sessions written by connect-redis's own
 * `RedisStore.set` (so the keys, JSON and TTLs are exactly what an app has), 1.5 % of them
 * invalid in known ways, imported by `importSessions` into a Tessera store on the real Redis
 * (redisStore) and, with DATABASE_URL, on the real Postgres (drizzleStore, in a temporary
 * database). Prints sessions/s and the rejected count per reason. Not part of `npm run bench`
 * (it writes 100,000 keys). Run: `npm run build && REDIS_URL=… DATABASE_URL=… npx tsx bench/import.ts [count]`.
 */
import { RedisStore } from "connect-redis";
import { drizzle } from "drizzle-orm/postgres-js";
import { Redis } from "ioredis";
import postgres from "postgres";
import * as z from "zod";
import type * as ExpressSession from "../src/express-session/index.js";
import { defineSession, drizzleStore, migrate, redisStore } from "./lib.js";

const root = process.env.TESSERA_BENCH_SRC ? "../src/" : "../dist/";
const { connectRedisSource, expressSessionCookie, importSessions } = (await import(
  new URL(`${root}express-session/index.js`, import.meta.url).href
)) as typeof ExpressSession;

const total = Number(process.argv[2] ?? 100_000);
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const databaseUrl = process.env.DATABASE_URL;
const run = `${process.pid}-${Date.now().toString(36)}`;
const legacyPrefix = `bench-import-legacy-${run}:`;

const schema = z.object({ userId: z.string(), name: z.string(), cart: z.array(z.string()).default([]) });
const map: ExpressSession.ImportMapper<typeof schema> = (legacy) => {
  const user = legacy.user as { id: string; name: string } | undefined;
  return user === undefined ? null : { userId: user.id, name: user.name, cart: legacy.cart as string[] };
};

/** What the importer must reject, by index: a number as user id (schema), a value that is not JSON, a JSON array. */
const kind = (i: number) =>
  i % 100 === 7 ? "schema" : i % 250 === 11 ? "not-json" : i % 1000 === 13 ? "not-an-object" : "valid";

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
const keys = async (match: string) => {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== "0");
  return found;
};
const drop = async (match: string) => {
  const found = await keys(match);
  for (let i = 0; i < found.length; i += 1000) await redis.del(...found.slice(i, i + 1000));
};

try {
  // connect-redis's own writes: SET key JSON EX ttl, ttl from cookie.expires.
  const legacy = new RedisStore({ client: redis, prefix: legacyPrefix });
  const expires = new Date(Date.now() + 86_400_000).toISOString();
  const expected: Record<string, number> = {};
  let started = performance.now();
  for (let i = 0; i < total; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, total - i) }, async (_, j) => {
        const n = i + j;
        const sid = `${n.toString(36).padStart(6, "0")}${crypto.randomUUID().replaceAll("-", "")}`.slice(0, 32);
        const what = kind(n);
        if (what !== "valid") expected[what] = (expected[what] ?? 0) + 1;
        if (what === "not-json") return void (await redis.set(`${legacyPrefix}${sid}`, "{truncated", "EX", 86_400));
        if (what === "not-an-object") return void (await redis.set(`${legacyPrefix}${sid}`, "[1,2]", "EX", 86_400));
        const sess = {
          cookie: { originalMaxAge: 86_400_000, expires, httpOnly: true, path: "/" },
          user: { id: what === "schema" ? n : `u_${n}`, name: `User ${n}` },
          cart: ["sku-1", `sku-${n % 97}`],
        };
        await legacy.set(sid, sess as never);
      }),
    );
  }
  console.log(`wrote ${total} connect-redis sessions in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const rejectedExpected = Object.values(expected).reduce((a, b) => a + b, 0);
  console.log(`expected rejections: ${rejectedExpected} ${JSON.stringify(expected)}`);

  const targets: {
    name: string;
    open(): Promise<{ store: Parameters<typeof defineSession>[0]["store"]; close(): Promise<void> }>;
  }[] = [
    {
      name: "redisStore (Redis)",
      async open() {
        const prefix = `bench-import-tessera-${run}:`;
        return { store: redisStore({ redis, prefix }), close: () => drop(`${prefix}*`) };
      },
    },
  ];
  if (databaseUrl !== undefined) {
    targets.push({
      name: "drizzleStore (Postgres)",
      async open() {
        const name = `tessera_bench_import_${run.replaceAll("-", "_")}`;
        const admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
        await admin.unsafe(`create database "${name}"`);
        const url = new URL(databaseUrl);
        url.pathname = `/${name}`;
        const client = postgres(url.toString(), { max: 16, onnotice: () => {} });
        const db = drizzle({ client });
        await migrate(db);
        return {
          store: drizzleStore({ db }),
          async close() {
            await client.end({ timeout: 5 });
            await admin.unsafe(`drop database if exists "${name}" with (force)`);
            await admin.end({ timeout: 5 });
          },
        };
      },
    });
  }

  for (const target of targets) {
    const opened = await target.open();
    try {
      const sessions = defineSession({ schema, store: opened.store, legacy: expressSessionCookie({ secrets: "bench" }) });
      started = performance.now();
      const result = await importSessions(sessions, connectRedisSource({ redis, prefix: legacyPrefix }), {
        map,
        concurrency: 32,
      });
      const seconds = (performance.now() - started) / 1000;
      console.log(
        `${target.name}: read ${result.read}, imported ${result.imported}, rejected ${result.rejected} ${JSON.stringify(result.reasons)}` +
          ` in ${seconds.toFixed(1)} s = ${Math.round(result.read / seconds)} sessions/s`,
      );
      if (result.rejected !== rejectedExpected || result.imported !== total - rejectedExpected) {
        console.log(`MISMATCH: expected ${total - rejectedExpected} imported and ${rejectedExpected} rejected`);
        process.exitCode = 1;
      }
      // A second run: everything is there already.
      started = performance.now();
      const again = await importSessions(sessions, connectRedisSource({ redis, prefix: legacyPrefix }), { map, concurrency: 32 });
      const againSeconds = (performance.now() - started) / 1000;
      console.log(`  re-run: imported ${again.imported}, existing ${again.existing} in ${againSeconds.toFixed(1)} s`);
    } finally {
      await opened.close();
    }
  }
} finally {
  await drop(`${legacyPrefix}*`);
  await redis.quit();
}
