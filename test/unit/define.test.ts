import { describe, expect, it } from "vitest";
import * as z from "zod";
import {
  defineSession,
  isTesseraError,
  migrationsFrom,
  SessionConfigError,
  SessionCorruptError,
  type SessionEvent,
  SessionStoreError,
} from "../../src/index.js";
import type { SessionStore } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { createToken, hashToken } from "../../src/token.js";

const schema = z.object({ userId: z.string().optional() });

describe("defineSession validates at start-up", () => {
  it.each([
    ["no store", { schema }],
    ["a non-object schema", { schema: z.string(), store: memoryStore() }],
    ["a reserved $ key", { schema: z.object({ $expiry: z.string() }), store: memoryStore() }],
    ["a bad maxAge", { schema, store: memoryStore(), maxAge: "forever" }],
    ["a zero maxAge", { schema, store: memoryStore(), maxAge: 0 }],
    ["a negative touchAfter", { schema, store: memoryStore(), touchAfter: -1 }],
    ["a bad maxBytes", { schema, store: memoryStore(), maxBytes: 0 }],
    ["version 0", { schema, store: memoryStore(), version: 0 }],
    ["a migration above version", { schema, store: memoryStore(), version: 2, migrations: { 3: (d: object) => d } }],
    ["an unknown onInvalid", { schema, store: memoryStore(), onInvalid: "ignore" }],
  ])("%s → SessionConfigError", (_, options) => {
    expect(() => defineSession(options as never)).toThrow(SessionConfigError);
  });
});

describe("typed migrations are checked at start-up", () => {
  const v1 = z.object({ name: z.string().optional() });
  const chain = migrationsFrom(v1)
    .to(schema)
    .via(({ name }) => (name === undefined ? {} : { userId: name }));

  it("a chain sets the version: its last one", async () => {
    const sessions = defineSession({ schema, store: memoryStore(), migrations: chain, version: 2 });
    expect(sessions).toBeDefined();
    expect(() => defineSession({ schema, store: memoryStore(), migrations: chain })).not.toThrow();
  });

  it("a chain may start at a later version; older data reaches its first step unchanged", async () => {
    const store = memoryStore();
    const v3 = z.object({ login: z.string().optional() });
    const writer = defineSession({ schema: v3, store, version: 3, cookie: { name: "sid" } });
    const w = await writer.load(undefined);
    w.set("login", "ada");
    const cookie = (await w.commit())[0]?.split(";")[0] ?? "";
    const writerV1 = defineSession({ schema: v3, store, version: 1, cookie: { name: "sid" } });
    const w1 = await writerV1.load(undefined);
    w1.set("login", "bob");
    const cookieV1 = (await w1.commit())[0]?.split(";")[0] ?? "";
    const sessions = defineSession({
      schema,
      store,
      cookie: { name: "sid" },
      migrations: migrationsFrom(v3, { version: 3 })
        .to(schema)
        .via(({ login }) => (login === undefined ? {} : { userId: login })),
    });
    expect((await sessions.load(cookie)).get("userId")).toBe("ada");
    expect((await sessions.load(cookieV1)).get("userId")).toBe("bob");
  });

  it.each([
    [
      "a version beside the chain that is not its last",
      () => defineSession({ schema, store: memoryStore(), migrations: chain, version: 3 }),
    ],
    [
      "a chain whose last schema is not the session's (an equal copy is not enough)",
      () =>
        defineSession({ schema: z.object({ userId: z.string().optional() }), store: memoryStore(), migrations: chain as never }),
    ],
    ["a non-object schema in the chain", () => migrationsFrom(z.string() as never)],
    ["migrationsFrom at version 0", () => migrationsFrom(v1, { version: 0 })],
    [
      "a step that is not a function",
      () =>
        migrationsFrom(v1)
          .to(schema)
          .via("nope" as never),
    ],
  ])("%s → SessionConfigError", (_, build) => {
    expect(build).toThrow(SessionConfigError);
  });
});

describe("store failures", () => {
  /** A real memory store whose reads are held up, standing in for a backend that stopped answering. */
  function stalledStore(): SessionStore {
    const store = memoryStore();
    return { ...store, get: () => new Promise(() => {}) };
  }

  it("R48/R56: a store call that does not answer fails with SessionStoreError within storeTimeout", async () => {
    const sessions = defineSession({ schema, store: stalledStore(), storeTimeout: 0.05 });
    const started = Date.now();
    const error = await sessions.load(`${sessions.cookieName}=${createToken()}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionStoreError);
    expect((error as SessionStoreError).code).toBe("STORE_UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("a driver error is wrapped in SessionStoreError with the cause, and the message holds no token", async () => {
    const cause = new Error("connection refused");
    const store = { ...memoryStore(), get: async () => Promise.reject(cause) };
    const token = createToken();
    const error = (await defineSession({ schema, store })
      .load(`__Host-sid=${token}`)
      .catch((e: unknown) => e)) as SessionStoreError;
    expect(isTesseraError(error)).toBe(true);
    expect((error.cause as Error).message).toBe(cause.message); // a redacted copy of the driver's error
    expect(error.message).not.toContain(token);
    expect(error.name).toBe("SessionStoreError");
    expect(error.stack).toContain("SessionStoreError");
  });

  it("B13: a timed-out store call's SessionStoreError has a cause naming the call and the limit", async () => {
    const sessions = defineSession({ schema, store: stalledStore(), storeTimeout: 0.05 });
    const error = (await sessions.load(`${sessions.cookieName}=${createToken()}`).catch((e: unknown) => e)) as SessionStoreError;
    expect(error).toBeInstanceOf(SessionStoreError);
    const cause = error.cause as { name: string; call: string; timeoutMs: number; message: string };
    expect(cause).toBeInstanceOf(Error);
    expect(cause.name).toBe("StoreTimeoutError");
    expect(cause.call).toBe("get");
    expect(cause.timeoutMs).toBe(50);
    expect(cause.message).toContain("get()");
    expect(cause.message).toContain("50 ms");
  });

  it("B12: a record the store cannot read (SessionCorruptError from get) is reported as corrupt, deleted, and gives a fresh session; never a SessionStoreError", async () => {
    const inner = memoryStore();
    const deleted: string[] = [];
    const store: SessionStore = {
      ...inner,
      get: async () => Promise.reject(new SessionCorruptError("exp is not a number")),
      delete: async (id) => {
        deleted.push(id);
        await inner.delete(id);
      },
    };
    const events: SessionEvent[] = [];
    const sessions = defineSession({ schema, store, onEvent: (event) => events.push(event) });
    const token = createToken();
    const session = await sessions.load(`${sessions.cookieName}=${token}`);
    expect(session.isNew).toBe(true);
    expect(events.map((e) => e.type)).toEqual(["corrupt"]);
    expect(events[0]?.tag).toMatch(/^[0-9a-f]{12}$/);
    expect(deleted).toEqual([hashToken(token)]);
    expect(await sessions.get(token)).toBeNull();
    expect(events.map((e) => e.type)).toEqual(["corrupt", "corrupt"]);
  });

  it("an onEvent handler that throws never breaks a request", async () => {
    const sessions = defineSession({
      schema,
      store: memoryStore(),
      onEvent: () => {
        throw new Error("logger down");
      },
    });
    const session = await sessions.load("sid=garbage");
    session.set("userId", "u1");
    expect(await session.commit()).toHaveLength(1);
  });
});
