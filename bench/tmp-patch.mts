import { Redis } from "ioredis";
import { defineStoreCommands } from "../src/stores/redis/store-scripts.js";
import { toHashFields } from "../src/stores/redis/hash-codec.js";
const r = new Redis();
const cmds = defineStoreCommands(r, []);
const key = "tmppatch:k";
await r.del(key);
const now = Date.now();
await cmds.create(key, { ttlMs: 1e9, fields: toHashFields({ id: "x", data: { a: { json: 1 }, cart: { json: "x".repeat(800) } }, expiresAt: new Date(now + 1e9), absoluteExpiresAt: null, createdAt: new Date(now), updatedAt: new Date(now), schemaVersion: 1, rev: 1, successorId: null } as never) });
const variants: Record<string, () => Promise<unknown>> = {
  patchSameExp: () => cmds.patch(key, { nowMs: now, expMs: now + 1e9, updatedMs: now, schemaVersion: 1, ttlMs: 1e9, maxBytes: 4096, notAfterMs: now + 5000, set: ["d:lastSeen", '{"json":"2026-12-04T18:25:11.123Z","meta":{"values":["Date"],"v":1}}'], deleted: [] }),
  patchNewExp: () => cmds.patch(key, { nowMs: now, expMs: Date.now() + 1e9, updatedMs: now, schemaVersion: 1, ttlMs: 1e9, maxBytes: 4096, notAfterMs: now + 5000, set: ["d:lastSeen", '{"json":"2026-12-04T18:25:11.123Z","meta":{"values":["Date"],"v":1}}'], deleted: [] }),
};
for (let round = 0; round < 2; round++) for (const [n, f] of Object.entries(variants)) {
  await f();
  await r.config("RESETSTAT");
  await Promise.all(Array.from({ length: 32 }, async () => { for (let i = 0; i < 600; i++) await f(); }));
  const s = (await r.info("commandstats")).split("\n").filter((l) => /calls=\d{3,}/.test(l)).map((l) => l.replace(/cmdstat_(\w+):calls=(\d+),usec=\d+,usec_per_call=([\d.]+).*/, "$1 $3")).join(" | ");
  console.log(n, "::", s);
}
await r.del(key); r.disconnect();
