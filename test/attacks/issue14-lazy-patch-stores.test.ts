/**
 * Issue 14 lazy patch (d884621) on every server store: a write's maxBytes check counts unread
 * entries by their stored size and validates them all only before refusing. Records are put in
 * each store through its own `create` with hostile data the core would never write.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent, SessionTooLargeError } from "../../src/index.js";
import type { SessionStore, StoredData } from "../../src/store.js";
import { fileStore } from "../../src/stores/file/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { databaseUrl, openPglite, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { craftedRecord } from "../helpers/records.js";
import { deleteKeys } from "../helpers/redis-keys.js";
import { redisUrl } from "../helpers/redis-server.js";

const schema = z.object({
  userId: z.string().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
  note: z.string().optional(),
  flag: z.string().optional(),
});

type Rig = { name: string; store: () => SessionStore; skip: boolean };

let redis: Redis | undefined;
const prefix = `issue14-lp-${randomUUID().slice(0, 8)}:`;
let pglite: TestDatabase | undefined;
let pgjs: TestDatabase | undefined;
let dir = "";

beforeAll(async () => {
  if (redisUrl) redis = new Redis(redisUrl);
  pglite = await openPglite();
  if (databaseUrl) pgjs = await openPostgresJs(databaseUrl);
  dir = await mkdtemp(join(tmpdir(), "tessera-lazy-patch-"));
});

afterAll(async () => {
  if (redis) {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  }
  await pglite?.close();
  await pgjs?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const memory = memoryStore();
const rigs: Rig[] = [
  { name: "memory", store: () => memory, skip: false },
  { name: "redis", store: () => redisStore({ redis: redis as Redis, prefix }), skip: !redisUrl },
  { name: "drizzle pglite", store: () => (pglite as TestDatabase).store, skip: false },
  { name: "drizzle postgres-js", store: () => (pgjs as TestDatabase).store, skip: !databaseUrl },
  { name: "file", store: () => fileStore({ dir: join(dir, "s") }), skip: false },
];

for (const rig of rigs) {
  describe.skipIf(rig.skip)(`lazy patch maxBytes on ${rig.name}`, () => {
    async function load(data: StoredData, maxBytes: number) {
      const store = rig.store();
      const events: SessionEvent[] = [];
      const sessions = defineSession({
        schema,
        store,
        maxBytes,
        cookie: { secure: true, name: "sid" },
        onEvent: (event) => events.push(event),
      });
      const { token, record } = await craftedRecord(data, new Date());
      record.expiresAt = new Date(Date.now() + 3600_000);
      await store.create(record);
      const cookie = `sid=${token}`;
      const reload = async () => (await sessions.load(cookie)).all();
      const session = await sessions.load(cookie);
      const invalid = () => events.filter((e) => e.type === "invalid").flatMap((e) => e.keys);
      return { session, reload, invalid };
    }

    it("a write that fits on the valid data alone is accepted and the invalid entry deleted", async () => {
      const { session, reload, invalid } = await load({ userId: { json: "u1" }, theme: { json: "p".repeat(3000) } }, 4096);
      session.set("flag", "f".repeat(2000));
      await session.commit();
      expect(invalid()).toEqual(["theme"]);
      expect(await reload()).toEqual({ userId: "u1", theme: "light", flag: "f".repeat(2000) });
    });

    it("a write that fits with the unread entries counted leaves them stored, unread, unreported", async () => {
      const { session, reload, invalid } = await load({ userId: { json: "u1" }, theme: { json: "purple" } }, 4096);
      session.set("flag", "f".repeat(1000));
      await session.commit();
      expect(invalid()).toEqual([]);
      expect(await reload()).toEqual({ userId: "u1", theme: "light", flag: "f".repeat(1000) });
    });

    it("a write over maxBytes on the valid data alone is refused, nothing stored", async () => {
      const { session, reload } = await load({ userId: { json: "u1" }, theme: { json: "purple" } }, 4096);
      expect(() => session.set("flag", "f".repeat(5000))).toThrow(SessionTooLargeError);
      await session.commit();
      expect(await reload()).toEqual({ userId: "u1", theme: "light" });
    });

    it("a write replacing a 100 KB invalid unread entry with 10 KB is judged on the valid data alone (refused)", async () => {
      const { session, reload } = await load({ userId: { json: "u1" }, note: { json: ["x".repeat(100_000)] } }, 4096);
      let refused: unknown = null;
      try {
        session.set("note", "y".repeat(10_000));
      } catch (error) {
        refused = error;
      }
      if (refused === null) await session.commit();
      const after = await reload();
      // Eager load: note dropped, data ~15 bytes; 10 KB note > 4096 → SessionTooLargeError, nothing stored.
      expect({ refused: refused instanceof SessionTooLargeError, noteLength: String(after.note ?? "").length }).toEqual({
        refused: true,
        noteLength: 0,
      });
    });
  });
}
