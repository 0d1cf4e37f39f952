import { inspect } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgresJs } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { guardStore } from "../../src/guarded-store.js";
import { defineSession, SessionStoreError } from "../../src/index.js";
import { drizzleStore, migrate } from "../../src/stores/drizzle/index.js";
import { hashToken } from "../../src/token.js";
import { cookieHeader, tokenOf } from "../helpers/cookies.js";
import { databaseUrl, openPglite, openPostgresJs } from "../helpers/databases.js";
import { craftedRecord } from "../helpers/records.js";

const schema = z.object({ userId: z.string().optional(), theme: z.string().optional() });

describe("drizzle store when the database misbehaves", () => {
  it("R48/R49: a closed PGlite fails the load with SessionStoreError (no session, so no Set-Cookie)", async () => {
    const client = new PGlite();
    const db = drizzlePglite({ client });
    await migrate(db);
    const sessions = defineSession({ schema, store: drizzleStore({ db }) });
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    const cookie = cookieHeader(await s.commit());
    await client.close();
    const error = await sessions.load(cookie).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).code).toBe("STORE_UNAVAILABLE");
    expect((error as Error).message).not.toContain(cookie.split("=")[1]);
  });

  it.skipIf(!databaseUrl)("R48: an unreachable PostgreSQL fails within storeTimeout with SessionStoreError", async () => {
    const client = postgres("postgres://postgres@127.0.0.1:1/test", { max: 1, connect_timeout: 30 });
    const sessions = defineSession({ schema, store: drizzleStore({ db: drizzlePostgresJs({ client }) }), storeTimeout: 1 });
    const started = Date.now();
    const error = await sessions.load(`${sessions.cookieName}=${"A".repeat(43)}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect(Date.now() - started).toBeLessThan(5000);
    await client.end({ timeout: 0 });
  });

  it.skipIf(!databaseUrl)(
    "R56: a save blocked by a row lock fails after storeTimeout, and the data is intact once the lock goes",
    async () => {
      const database = await openPostgresJs(databaseUrl ?? "");
      const locker = postgres(database.url ?? "", { max: 1 });
      try {
        const sessions = defineSession({ schema, store: database.store, storeTimeout: 0.3 });
        const s = await sessions.load(undefined);
        s.set("userId", "u1");
        const setCookie = await s.commit();
        const id = hashToken(tokenOf(setCookie));
        const blocked = await sessions.load(cookieHeader(setCookie));

        const reserved = await locker.reserve();
        await reserved`begin`;
        await reserved`select id from sessions where id = ${id} for update`;
        blocked.set("theme", "dark");
        const started = Date.now();
        const error = await blocked.save().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(SessionStoreError);
        expect(Date.now() - started).toBeLessThan(3000);
        await reserved`rollback`;
        reserved.release();

        const after = await sessions.load(cookieHeader(setCookie));
        expect(after.get("userId")).toBe("u1");
      } finally {
        await locker.end({ timeout: 5 });
        await database.close();
      }
    },
  );
});

describe("store errors leak no session id or data", () => {
  it("R11: a driver error (unique violation) reaches the caller as SessionStoreError with a redacted cause chain", async () => {
    const database = await openPglite();
    try {
      const store = guardStore(database.store, 5000);
      const { record } = await craftedRecord({ userId: { json: "secret-user-data" } }, new Date());
      await store.create(record);
      const error = await store.create(record).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreError);
      const printed = inspect(error, { depth: 10 });
      expect(printed).not.toContain(record.id);
      expect(printed).not.toContain("secret-user-data");
      expect(printed).toContain("params: [redacted]");
      const codes: unknown[] = [];
      for (let e: unknown = (error as Error).cause; e instanceof Error; e = e.cause) codes.push((e as { code?: unknown }).code);
      expect(codes).toContain("23505");
    } finally {
      await database.close();
    }
  });
});
