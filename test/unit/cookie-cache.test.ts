import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import * as z from "zod";
import { isSettled } from "../../src/adapter-kit.js";
import {
  type CookieCacheOptions,
  defineSession,
  SessionConfigError,
  type SessionOptions,
  type SessionSchema,
} from "../../src/index.js";
import type { SessionStore, StoredSession } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { testClock } from "../helpers/clock.js";
import { attribute } from "../helpers/cookies.js";
import { countingStore } from "../helpers/counting-store.js";
import { openPglite } from "../helpers/databases.js";

/**
 * The cookie-cache tier (issue 14): a sealed snapshot in a second cookie serves reads within
 * its window without a store call. The store is real (memory, Redis) and only counted; the
 * clock is the test's.
 */

const SECRET = "cookie-cache-secret-0123456789abcdef";
const OTHER_SECRET = "another-cookie-cache-secret-0123456789";

const schema = z.object({
  userId: z.string().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
  note: z.string().optional(),
});

/** A browser's cookie jar: applies Set-Cookie values as a browser does (Max-Age=0 deletes). */
function browser() {
  const jar = new Map<string, string>();
  return {
    jar,
    get header() {
      return [...jar].map(([name, value]) => `${name}=${value}`).join("; ");
    },
    apply(setCookies: readonly string[]) {
      for (const setCookie of setCookies) {
        const pair = setCookie.split(";")[0] as string;
        const at = pair.indexOf("=");
        const name = pair.slice(0, at);
        if (attribute(setCookie, "Max-Age") === "0") jar.delete(name);
        else jar.set(name, pair.slice(at + 1));
      }
    },
    clone() {
      const copy = browser();
      for (const [name, value] of jar) copy.jar.set(name, value);
      return copy;
    },
  };
}

function setup<S extends SessionSchema = typeof schema>(
  options: Partial<SessionOptions<S>> & { store?: SessionStore; schema?: S } = {},
  start?: number,
) {
  const map = new Map<string, StoredSession>();
  const counted = countingStore(options.store ?? memoryStore({ map }));
  const clock = testClock(start);
  const sessions = defineSession<S>({
    schema: (options.schema ?? schema) as S,
    cookie: { secure: false, name: "sid" },
    now: clock.now,
    cookieCache: { maxAge: "30s", secrets: SECRET },
    ...options,
    store: counted.store,
  });
  /** One request: load, `act`, commit; the browser keeps what it is sent. */
  async function request<T>(b: ReturnType<typeof browser>, act: (session: Awaited<ReturnType<typeof sessions.load>>) => T) {
    const session = await sessions.load(b.header);
    const result = await act(session);
    const setCookies = await session.commit();
    b.apply(setCookies);
    return { result, setCookies, session };
  }
  return { sessions, calls: counted.calls, reset: counted.reset, clock, map, request };
}

/** A browser whose session (any schema with a string `userId`) holds u1, and the counts reset. */
async function loggedIn(t: {
  sessions: { load(header: string): Promise<{ set(key: "userId", value: string): void; commit(): Promise<string[]> }> };
  reset(): void;
}) {
  const b = browser();
  const session = await t.sessions.load(b.header);
  session.set("userId", "u1");
  b.apply(await session.commit());
  t.reset();
  return b;
}

describe("cookieCache: configuration", () => {
  it("is refused with the cookie store, and with bad options, at start-up", () => {
    const store = cookieStore({ secrets: SECRET });
    expect(() => defineSession({ schema, store, cookieCache: { maxAge: "30s", secrets: SECRET } })).toThrow(SessionConfigError);
    expect(() => defineSession({ schema, store: memoryStore(), cookieCache: { maxAge: "30s", secrets: "short" } })).toThrow(
      /cookieCache: secrets\[0\] is shorter/,
    );
    expect(() => defineSession({ schema, store: memoryStore(), cookieCache: { maxAge: "0s", secrets: SECRET } })).toThrow(
      SessionConfigError,
    );
    expect(() =>
      defineSession({ schema, store: memoryStore(), cookieCache: { secrets: SECRET } as unknown as CookieCacheOptions }),
    ).toThrow(/maxAge/);
    expect(() => defineSession({ schema, store: memoryStore(), cookieCache: null as unknown as CookieCacheOptions })).toThrow(
      SessionConfigError,
    );
  });

  it("types: maxAge is a Duration, secrets one or a list, both required", () => {
    expectTypeOf<SessionOptions<typeof schema>["cookieCache"]>().toEqualTypeOf<CookieCacheOptions | undefined>();
    expectTypeOf<CookieCacheOptions["secrets"]>().toEqualTypeOf<string | readonly string[]>();
    expectTypeOf<{ maxAge: "30s"; secrets: string }>().toExtend<CookieCacheOptions>();
    expectTypeOf<{ maxAge: { minutes: 5 }; secrets: string[] }>().toExtend<CookieCacheOptions>();
    expectTypeOf<{ maxAge: "30s" }>().not.toExtend<CookieCacheOptions>();
    expectTypeOf<{ maxAge: "30 seconds"; secrets: string }>().not.toExtend<CookieCacheOptions>();
  });
});

describe("cookieCache: the window", () => {
  it("a write sends the snapshot beside the session cookie; reads within the window make no store call", async () => {
    const t = setup();
    const b = browser();
    const { setCookies } = await t.request(b, (s) => s.set("userId", "u1"));
    expect(setCookies.map((c) => c.split("=")[0])).toEqual(["sid", "sid.cache"]);
    const cacheCookie = setCookies[1] as string;
    expect(attribute(cacheCookie, "Max-Age")).toBe("30");
    expect(attribute(cacheCookie, "HttpOnly")).toBe("");
    expect(attribute(cacheCookie, "SameSite")).toBe("Lax");
    t.reset();
    for (let i = 0; i < 3; i++) {
      t.clock.advance(9);
      const { result, setCookies: sent } = await t.request(b, (s) => [s.get("userId"), s.get("theme"), s.isNew]);
      expect(result).toEqual(["u1", "light", false]);
      expect(sent).toEqual([]);
    }
    expect(t.calls.get).toBe(0);
    // 30 s after the store read: the next load reads the store and sends a new snapshot.
    t.clock.advance(3);
    const { setCookies: renewed } = await t.request(b, (s) => s.get("userId"));
    expect(t.calls.get).toBe(1);
    expect(renewed.map((c) => c.split("=")[0])).toEqual(["sid.cache"]);
  });

  it("nothing is sent for a session never written (R9); adapters see a due snapshot as unsettled", async () => {
    const t = setup();
    expect(await (await t.sessions.load(null)).commit()).toEqual([]);
    const b = await loggedIn(t);
    const fromSnapshot = await t.sessions.load(b.header);
    expect(isSettled(fromSnapshot)).toBe(true);
    const withoutSnapshot = await t.sessions.load(`sid=${b.jar.get("sid")}`);
    // Loaded from the store: the commit has a snapshot to send, so it must not be skipped.
    expect(isSettled(withoutSnapshot)).toBe(false);
    expect((await withoutSnapshot.commit()).map((c) => c.split("=")[0])).toEqual(["sid.cache"]);
    expect(isSettled(withoutSnapshot)).toBe(true);
  });

  it("revoke and destroy elsewhere take effect once the window has passed, not before", async () => {
    const t = setup();
    const a = await loggedIn(t);
    const token = a.jar.get("sid") as string;
    const b = browser();
    await t.request(b, (s) => s.set("userId", "u2"));
    t.clock.advance(10);
    expect(await t.sessions.revoke({ where: { userId: "u1" } })).toBe(1);
    expect(await t.sessions.destroy(b.jar.get("sid") as string)).toBe(true);
    expect(await t.sessions.get(token)).toBeNull();
    t.reset();
    // 29.999 s after the snapshot's store read: still served, as documented.
    t.clock.advance(19.999);
    expect((await t.request(a, (s) => s.get("userId"))).result).toBe("u1");
    expect((await t.request(b, (s) => s.get("userId"))).result).toBe("u2");
    expect(t.calls.get).toBe(0);
    // At 30 s: a store read, which finds nothing: a fresh session, the snapshot cleared (an
    // unknown session cookie is left as it is, as without the tier).
    t.clock.advance(0.001);
    for (const jar of [a, b]) {
      const { result, setCookies } = await t.request(jar, (s) => [s.get("userId"), s.isNew]);
      expect(result).toEqual([undefined, true]);
      expect(setCookies.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "0"]]);
      expect([...jar.jar.keys()]).toEqual(["sid"]);
    }
    expect(t.calls.get).toBe(2);
  });

  it("a patch refreshes the snapshot's data but not its age: a revoke after it is seen at the first window's end", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const token = b.jar.get("sid") as string;
    t.clock.advance(20);
    const { setCookies } = await t.request(b, (s) => s.set("note", "n1"));
    // A write from a snapshot reads the store once first (checkSnapshot).
    expect(t.calls).toMatchObject({ get: 1, patch: 1 });
    // The new snapshot keeps the first one's freshness: 10 s left of the 30.
    expect(setCookies.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "10"]]);
    t.clock.advance(1);
    expect(await t.sessions.destroy(token)).toBe(true);
    t.reset();
    t.clock.advance(8.999);
    expect((await t.request(b, (s) => [s.get("userId"), s.get("note")])).result).toEqual(["u1", "n1"]);
    expect(t.calls.get).toBe(0);
    t.clock.advance(0.001);
    expect((await t.request(b, (s) => s.isNew)).result).toBe(true);
    expect(t.calls.get).toBe(1);
  });

  it("a patch that finds another write since its data was read sends no snapshot of it", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const elsewhere = (await t.sessions.get(b.jar.get("sid") as string))!;
    elsewhere.set("theme", "dark");
    await elsewhere.save();
    t.clock.advance(10);
    // Within the window the snapshot still shows the theme it holds...
    expect((await t.request(b, (s) => s.get("theme"))).result).toBe("light");
    // ...and a write clears it (its patch got rev + 2), so the next read sees both changes.
    const { setCookies } = await t.request(b, (s) => s.set("note", "n1"));
    expect(setCookies.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "0"]]);
    t.reset();
    expect((await t.request(b, (s) => [s.get("note"), s.get("theme")])).result).toEqual(["n1", "dark"]);
    expect(t.calls.get).toBe(1);
    // The patch was per key: the store holds both changes.
    expect((await t.sessions.get(b.jar.get("sid") as string))!.all()).toEqual({ userId: "u1", theme: "dark", note: "n1" });
  });

  it("two parallel writes from one browser: the later patch clears the snapshot instead of hiding the other's write", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const first = await t.sessions.load(b.header);
    const second = await t.sessions.load(b.header);
    first.set("note", "n1");
    second.set("theme", "dark");
    const fromFirst = await first.commit();
    const fromSecond = await second.commit();
    expect(fromFirst.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "30"]]);
    // The second patch found a write it had not read (rev + 2): no snapshot of its data.
    expect(fromSecond.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "0"]]);
    const inOrder = b.clone();
    inOrder.apply(fromFirst);
    inOrder.apply(fromSecond);
    expect((await t.request(inOrder, (s) => [s.get("note"), s.get("theme")])).result).toEqual(["n1", "dark"]);
    // The documented limit: when the first writer's response arrives last, its snapshot (which
    // cannot know of the second write) hides that write from this browser until the window ends.
    const outOfOrder = b.clone();
    outOfOrder.apply(fromSecond);
    outOfOrder.apply(fromFirst);
    expect((await t.request(outOfOrder, (s) => [s.get("note"), s.get("theme")])).result).toEqual(["n1", "light"]);
    t.clock.advance(30);
    expect((await t.request(outOfOrder, (s) => [s.get("note"), s.get("theme")])).result).toEqual(["n1", "dark"]);
  });

  it("a patch of a session revoked meanwhile is refused, and sends no snapshot", async () => {
    const t = setup();
    const b = await loggedIn(t);
    await t.sessions.destroy(b.jar.get("sid") as string);
    const session = await t.sessions.load(b.header);
    expect(session.get("userId")).toBe("u1"); // from the snapshot, within the window
    session.set("note", "x");
    await expect(session.commit()).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
  });

  it("never outlives the session: its expiry and Max-Age are capped by maxAge and absoluteMaxAge", async () => {
    const t = setup({ maxAge: "20s", rolling: false });
    const b = browser();
    const { setCookies } = await t.request(b, (s) => s.set("userId", "u1"));
    expect(attribute(setCookies[1] as string, "Max-Age")).toBe("20");
    t.reset();
    t.clock.advance(19);
    expect((await t.request(b, (s) => s.get("userId"))).result).toBe("u1");
    t.clock.advance(1);
    // The session expired at 20 s: the store is asked (and has nothing), even with the browser's cookie kept.
    expect((await t.request(b, (s) => s.isNew)).result).toBe(true);
    expect(t.calls.get).toBe(1);

    const abs = setup({ absoluteMaxAge: "25s", touchAfter: 0 });
    const c = browser();
    const first = await abs.request(c, (s) => s.set("userId", "u1"));
    expect(attribute(first.setCookies[1] as string, "Max-Age")).toBe("25");
    abs.clock.advance(24.9);
    abs.reset();
    expect((await abs.request(c, (s) => s.get("userId"))).result).toBe("u1");
    expect(abs.calls.get).toBe(0);
    abs.clock.advance(0.1);
    expect((await abs.request(c, (s) => s.isNew)).result).toBe(true);
    expect(abs.calls.get).toBe(1);
  });

  it("destroy clears the snapshot; a snapshot with no session cookie is cleared", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const { setCookies } = await t.request(b, (s) => s.destroy());
    expect(setCookies.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([
      ["sid", "0"],
      ["sid.cache", "0"],
    ]);
    const orphan = browser();
    orphan.jar.set("sid.cache", "junk");
    const { setCookies: cleared } = await t.request(orphan, (s) => s.get("userId"));
    expect(cleared.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "0"]]);
  });
});

describe("cookieCache: binding", () => {
  it("a snapshot beside another session's cookie is ignored: the store decides", async () => {
    const t = setup();
    const a = await loggedIn(t);
    const b = browser();
    await t.request(b, (s) => s.set("userId", "u2"));
    t.reset();
    const mixed = b.clone();
    mixed.jar.set("sid.cache", a.jar.get("sid.cache") as string);
    const { result, setCookies } = await t.request(mixed, (s) => s.get("userId"));
    expect(result).toBe("u2");
    expect(t.calls.get).toBe(1);
    // Replaced by its own session's snapshot.
    expect(setCookies.map((c) => c.split("=")[0])).toEqual(["sid.cache"]);
  });

  it("after rotate (and login), the old snapshot does not open beside the new token", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const before = b.clone();
    const { setCookies } = await t.request(b, (s) => s.login("userId", "u9"));
    expect(setCookies.map((c) => c.split("=")[0])).toEqual(["sid", "sid.cache"]);
    const stale = b.clone();
    stale.jar.set("sid.cache", before.jar.get("sid.cache") as string);
    t.reset();
    expect((await t.request(stale, (s) => s.get("userId"))).result).toBe("u9");
    expect(t.calls.get).toBe(1);
    t.reset();
    expect((await t.request(b, (s) => s.get("userId"))).result).toBe("u9");
    expect(t.calls.get).toBe(0);
  });

  it("a rotation from a snapshot keeps keys changed elsewhere since it was taken", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const elsewhere = (await t.sessions.get(b.jar.get("sid") as string))!;
    elsewhere.set("note", "from-elsewhere");
    await elsewhere.save();
    const { session } = await t.request(b, async (s) => {
      s.set("theme", "dark");
      await s.rotate();
    });
    const stored = (await t.sessions.get(b.jar.get("sid") as string))!;
    expect(stored.all()).toEqual({ userId: "u1", theme: "dark", note: "from-elsewhere" });
    expect(session.get("theme")).toBe("dark");
  });

  it("a rotation from a snapshot of a session revoked meanwhile is refused", async () => {
    const t = setup();
    const b = await loggedIn(t);
    await t.sessions.revoke({ where: { userId: "u1" } });
    const session = await t.sessions.load(b.header);
    await expect(session.rotate()).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
  });
});

describe("cookieCache: hostile and foreign snapshots are ignored, never an error", () => {
  const hostile: [string, string][] = [
    ["10 KB", "v2.2.AAAAAAAA.".padEnd(10_240, "A")],
    ["NUL", "v2.2.AAAAAAAA.AAAA\u0000.AAAA"],
    ["lone surrogates", "v2.2.\ud800AAAAAAA.\udc00AAA.AAAA"],
    ["garbage base64", "v2.2.AAAAAAAA.!!!***.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    ["empty", ""],
    ["no dots", "x".repeat(200)],
  ];

  it.each(hostile)("%s", async (_label, value) => {
    const t = setup();
    const b = await loggedIn(t);
    // A cookie jar source hands the value over as is, NUL and lone surrogates included.
    const session = await t.sessions.load({ get: (name) => ({ value: name === "sid" ? (b.jar.get("sid") as string) : value }) });
    expect(session.get("userId")).toBe("u1");
    expect(t.calls.get).toBe(1);
    const names = (await session.commit()).map((c) => c.split("=")[0]);
    expect(names).toEqual(["sid.cache"]);
  });

  it("fuzz: random strings and random edits of a real snapshot load the stored session, never throw", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const token = b.jar.get("sid") as string;
    const sealed = b.jar.get("sid.cache") as string;
    const edited = fc
      .tuple(fc.nat({ max: sealed.length }), fc.nat({ max: 8 }), fc.string({ unit: "binary", maxLength: 8 }))
      .map(([at, cut, insert]) => sealed.slice(0, at) + insert + sealed.slice(at + cut))
      .filter((value) => value !== sealed);
    const hostileValue = fc.oneof(fc.string({ unit: "binary", maxLength: 5000 }), fc.string({ unit: "grapheme" }), edited);
    await fc.assert(
      fc.asyncProperty(hostileValue, async (value) => {
        t.reset();
        const session = await t.sessions.load({ get: (name) => ({ value: name === "sid" ? token : value }) });
        expect(session.get("userId")).toBe("u1");
        expect(t.calls.get).toBe(1);
        await session.commit();
      }),
      { numRuns: 300 },
    );
  });

  it("tampered: every single-character change of the snapshot is refused", async () => {
    const t = setup();
    const b = await loggedIn(t);
    const sealed = b.jar.get("sid.cache") as string;
    const positions = [0, 3, 5, 8, 20, Math.floor(sealed.length / 2), sealed.length - 44, sealed.length - 1];
    for (const at of positions) {
      const flipped = sealed.slice(0, at) + (sealed[at] === "A" ? "B" : "A") + sealed.slice(at + 1);
      const forged = b.clone();
      forged.jar.set("sid.cache", flipped);
      t.reset();
      expect((await t.request(forged, (s) => s.get("userId"))).result).toBe("u1");
      expect(t.calls.get, `position ${at}`).toBe(1);
    }
  });

  it("sealed under another secret: ignored; under a previous secret of the list: opened", async () => {
    const map = new Map<string, StoredSession>();
    const store = memoryStore({ map });
    const old = setup({ store, cookieCache: { maxAge: "30s", secrets: OTHER_SECRET } });
    const b = await loggedIn(old);
    const foreign = setup({ store });
    expect((await foreign.request(b.clone(), (s) => s.get("userId"))).result).toBe("u1");
    expect(foreign.calls.get).toBe(1);
    const rotated = setup({ store, cookieCache: { maxAge: "30s", secrets: [SECRET, OTHER_SECRET] } });
    expect((await rotated.request(b.clone(), (s) => s.get("userId"))).result).toBe("u1");
    expect(rotated.calls.get).toBe(0);
  });

  it("a snapshot stamped in the future (a server clock ahead) is ignored", async () => {
    const map = new Map<string, StoredSession>();
    const store = memoryStore({ map });
    const ahead = setup({ store });
    ahead.clock.advance(60);
    const b = await loggedIn(ahead);
    const behind = setup({ store });
    behind.clock.advance(55);
    expect((await behind.request(b, (s) => s.get("userId"))).result).toBe("u1");
    expect(behind.calls.get).toBe(1);
  });

  it("the schema validates what comes out of a snapshot, as it does for store data", async () => {
    const map = new Map<string, StoredSession>();
    const store = memoryStore({ map });
    const loose = setup({ store });
    const b = await loggedIn(loose);
    // The same secret and version, a stricter schema: the snapshot's "u1" is not an email.
    const strict = setup({
      store,
      schema: z.object({ userId: z.email().optional(), theme: z.enum(["light", "dark"]).default("light") }),
    });
    const { result } = await strict.request(b, (s) => [s.get("userId"), s.has("userId")]);
    expect(result).toEqual([undefined, false]);
  });

  it("a snapshot written under another schema version is ignored", async () => {
    const map = new Map<string, StoredSession>();
    const store = memoryStore({ map });
    const v1 = setup({ store });
    const b = await loggedIn(v1);
    const v2 = setup({ store, version: 2, migrations: { 2: (data) => ({ ...data, note: "migrated" }) } });
    expect((await v2.request(b, (s) => s.get("note"))).result).toBe("migrated");
    expect(v2.calls.get).toBe(1);
  });
});

describe("cookieCache: size", () => {
  it("a snapshot past the browser's 4096 bytes is not sent, and an older one is cleared", async () => {
    const t = setup();
    const b = await loggedIn(t);
    expect(b.jar.has("sid.cache")).toBe(true);
    const { setCookies } = await t.request(b, (s) => s.set("note", "x".repeat(5000)));
    expect(setCookies.map((c) => [c.split("=")[0], attribute(c, "Max-Age")])).toEqual([["sid.cache", "0"]]);
    t.reset();
    expect((await t.request(b, (s) => s.get("note")?.length)).result).toBe(5000);
    expect(t.calls.get).toBe(1);
    const fresh = browser();
    const { setCookies: first } = await t.request(fresh, (s) => s.set("note", "y".repeat(5000)));
    expect(first.map((c) => c.split("=")[0])).toEqual(["sid"]);
  });
});

describe("cookieCache on redisStore (Redis at 127.0.0.1:6379)", () => {
  const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379", { lazyConnect: true, maxRetriesPerRequest: 1 });
  const prefix = `tessera-test-cookie-cache:${process.pid}:`;
  beforeAll(async () => {
    await redis.connect();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it("reads within the window make no Redis call; a revoke elsewhere is seen after it", async () => {
    // Redis expires keys by its own clock: the test clock starts at the real time.
    const t = setup({ store: redisStore({ redis, prefix }) }, Date.now());
    const b = await loggedIn(t);
    for (let i = 0; i < 5; i++) expect((await t.request(b, (s) => s.get("userId"))).result).toBe("u1");
    expect(t.calls.get).toBe(0);
    await t.request(b, (s) => s.set("note", "n"));
    expect(t.calls).toMatchObject({ get: 1, patch: 1 });
    expect(await t.sessions.destroy(b.jar.get("sid") as string)).toBe(true);
    t.reset();
    expect((await t.request(b, (s) => s.get("note"))).result).toBe("n");
    t.clock.advance(30);
    expect((await t.request(b, (s) => s.isNew)).result).toBe(true);
    expect(t.calls.get).toBe(1);
  });
});

describe("cookieCache on drizzleStore (PGlite)", () => {
  it("reads within the window make no SQL; a destroy elsewhere is seen after it; a rotation keeps a key written elsewhere", async () => {
    const database = await openPglite();
    try {
      const t = setup({ store: database.store });
      const b = await loggedIn(t);
      for (let i = 0; i < 3; i++) expect((await t.request(b, (s) => s.get("userId"))).result).toBe("u1");
      expect(t.calls.get).toBe(0);
      const elsewhere = (await t.sessions.get(b.jar.get("sid") as string))!;
      elsewhere.set("note", "from-elsewhere");
      await elsewhere.save();
      await t.request(b, async (s) => {
        s.set("theme", "dark");
        await s.rotate();
      });
      const token = b.jar.get("sid") as string;
      expect((await t.sessions.get(token))!.all()).toEqual({ userId: "u1", theme: "dark", note: "from-elsewhere" });
      t.clock.advance(5);
      expect(await t.sessions.destroy(token)).toBe(true);
      t.reset();
      t.clock.advance(24.999);
      expect((await t.request(b, (s) => s.get("theme"))).result).toBe("dark");
      expect(t.calls.get).toBe(0);
      t.clock.advance(0.001);
      expect((await t.request(b, (s) => s.isNew)).result).toBe(true);
      expect(t.calls.get).toBe(1);
    } finally {
      await database.close();
    }
  });
});
