import { Redis } from "ioredis";
import { defineStoreCommands, patchArgv } from "../src/stores/redis/store-scripts.js";
import { toHashFields } from "../src/stores/redis/hash-codec.js";
const r = new Redis();
defineStoreCommands(r, []);
const full = (r as any).scriptsSet.tesseraStorePatch.lua as string;
const key = "tmpbis:k";
const now = Date.now();
const fields = toHashFields({ id: "x", data: { a: { json: 1 }, b: { json: 2 }, c: { json: 3 }, d: { json: 4 }, e: { json: 5 }, cart: { json: "x".repeat(800) } }, expiresAt: new Date(now + 1e9), absoluteExpiresAt: null, createdAt: new Date(now), updatedAt: new Date(now), schemaVersion: 1, rev: 1, successorId: null } as never);
await r.del(key); await r.hset(key, ...fields);
const argv = [0, ...patchArgv({ nowMs: now, expMs: now + 1e9, updatedMs: now, schemaVersion: 1, ttlMs: 1e9, maxBytes: 4096, notAfterMs: now + 5000, set: ["d:lastSeen", '{"json":"2026-12-04T18:25:11.123Z","meta":{"values":["Date"],"v":1}}'], deleted: [] })];
const cut = (marker: string) => full.slice(0, full.indexOf(marker)) + "\nreturn 1\n";
const variants: Record<string, string> = {
  ret1: "return 1",
  hmget: "local m = redis.call('HMGET', KEYS[1], 'rev', 'exp', 'succ', 'bytes', 'updated') return 1",
  preludeOnly: cut("local m = read(KEYS[1])"),
  afterRead: cut("if not live("),
  afterLate: cut("local first = nIdx + 10"),
  beforeLimit: cut("local limit = tonumber(arg(7))"),
  beforeHdel: cut("hdelFrom(KEYS[1], last + 1, #ARGV)"),
  beforeExpire: cut("if arg(2) ~= m[2]"),
  full,
};
for (let round = 0; round < 2; round++) for (const [n, lua] of Object.entries(variants)) {
  const sha = (await r.script("LOAD", lua)) as string;
  await r.evalsha(sha, 1, key, ...argv);
  await r.config("RESETSTAT");
  await Promise.all(Array.from({ length: 32 }, async () => { for (let i = 0; i < 800; i++) await r.evalsha(sha, 1, key, ...argv); }));
  const s = (await r.info("commandstats")).match(/cmdstat_evalsha:.*?usec_per_call=([\d.]+)/)![1];
  console.log(n.padEnd(12), s);
}
await r.del(key); r.disconnect();
