/**
 * Issue 14 attack on the cookie-cache tier (`cookieCache`): a hostile browser, a stolen or
 * replayed snapshot, writes elsewhere (another manager instance, as the CLI or an admin page
 * would be) against the memory store and the shared Redis, on the test's clock. Every store is
 * real and only counted.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, SessionInterruptedError, type SessionOptions } from "../../src/index.js";
import type { SessionStore } from "../../src/store.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { type TestClock, testClock } from "../helpers/clock.js";
import { attribute } from "../helpers/cookies.js";
import { countingStore } from "../helpers/counting-store.js";
import { deleteKeys, keysOn } from "../helpers/redis-keys.js";
import { redisUrl } from "../helpers/redis-server.js";

const SECRET = "issue14-cookie-cache-secret-0123456789abcdef";
const schema = z.object({
  userId: z.string().optional(),
  role: z.enum(["user", "admin"]).optional(),
  note: z.string().optional(),
  attempts: z.number().optional(),
});

type Jar = ReturnType<typeof browser>;

/** A browser's cookie jar: applies Set-Cookie as a browser does (Max-Age=0 deletes). */
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
        if (attribute(setCookie, "Max-Age") === "0") jar.delete(pair.slice(0, at));
        else jar.set(pair.slice(0, at), pair.slice(at + 1));
      }
    },
    clone() {
      const copy = browser();
      for (const [name, value] of jar) copy.jar.set(name, value);
      return copy;
    },
  };
}

const names = (setCookies: readonly string[]) => setCookies.map((c) => `${c.split("=")[0]}:${attribute(c, "Max-Age")}`);

function rig(options: Partial<SessionOptions<typeof schema>> & { store?: SessionStore; clock?: TestClock } = {}) {
  const clock = options.clock ?? testClock();
  const counted = countingStore(options.store ?? memoryStore());
  const sessions = defineSession({
    schema,
    cookie: { secure: false, name: "sid" },
    now: clock.now,
    cookieCache: { maxAge: "30s", secrets: SECRET },
    ...options,
    store: counted.store,
  });
  async function request<T>(b: Jar, act: (session: Awaited<ReturnType<typeof sessions.load>>) => T | Promise<T>) {
    const session = await sessions.load(b.header);
    const result = await act(session);
    const setCookies = await session.commit();
    b.apply(setCookies);
    return { result, setCookies, session };
  }
  return { sessions, clock, calls: counted.calls, reset: counted.reset, request };
}

type Rig = ReturnType<typeof rig>;

async function loggedIn(t: Rig, userId = "u1"): Promise<Jar> {
  const b = browser();
  await t.request(b, (s) => {
    s.set("userId", userId);
    s.set("role", "user");
  });
  expect([...b.jar.keys()]).toEqual(["sid", "sid.cache"]);
  t.reset();
  return b;
}

describe("issue 14 cookie cache: a snapshot is bound to its cookie name, purpose and secret", () => {
  it("a snapshot moved to another manager's cache cookie (same secret, same store, same token) is ignored", async () => {
    const store = memoryStore();
    const clock = testClock();
    const user = rig({ store, clock });
    const admin = rig({ store, clock, cookie: { secure: false, name: "admin_sid" } });
    const b = await loggedIn(user);
    admin.reset();
    const moved = `admin_sid=${b.jar.get("sid")}; admin_sid.cache=${b.jar.get("sid.cache")}`;
    const session = await admin.sessions.load(moved);
    // The store decides (one read), the moved snapshot is replaced by a genuine one.
    expect(admin.calls.get).toBe(1);
    expect(session.get("userId")).toBe("u1");
    expect(names(await session.commit())).toEqual(["admin_sid.cache:30"]);
  });

  it("a cookieStore seal under the same secret and name is not a snapshot, nor the reverse", async () => {
    const clock = testClock();
    const t = rig({ clock });
    const b = await loggedIn(t);
    const sealer = defineSession({
      schema,
      store: cookieStore({ secrets: SECRET }),
      cookie: { secure: false, name: "sid.cache" },
      now: clock.now,
    });
    const s = await sealer.load(null);
    s.set("userId", "attacker");
    s.set("role", "admin");
    const sealed = (await s.commit())[0]?.split(";")[0]?.split("=")[1] as string;
    expect(sealed.startsWith("v2.")).toBe(true);
    const forged = await t.sessions.load(`sid=${b.jar.get("sid")}; sid.cache=${sealed}`);
    expect(forged.get("role")).toBe("user");
    expect(t.calls.get).toBe(1);
    // The snapshot offered to the cookie store as its cookie: a fresh session.
    const back = await sealer.load(`sid.cache=${b.jar.get("sid.cache")}`);
    expect(back.isNew).toBe(true);
  });

  it("a snapshot sealed under another cache secret than any in the list is ignored (no downgrade to the store's data of another app)", async () => {
    const store = memoryStore();
    const clock = testClock();
    const a = rig({ store, clock });
    const b = await loggedIn(a);
    const other = rig({ store, clock, cookieCache: { maxAge: "30s", secrets: "a-completely-different-secret-0123456789" } });
    const s = await other.sessions.load(b.header);
    expect(other.calls.get).toBe(1);
    expect(s.get("userId")).toBe("u1");
  });
});

describe("issue 14 cookie cache: hostile snapshot cookies beside a real token", () => {
  const hostile: Record<string, string> = {
    "10 KB": "v2.2.AAAAAAAA.".padEnd(10 * 1024, "A"),
    "10 MB": "A".repeat(10 * 1024 * 1024),
    NUL: "v2.2.\u0000",
    "lone surrogate": "v2.2.\uD800AAAAAA",
    "non-base64": "v2.2.AAAAAAAA.!!!!.AAAA",
    empty: "",
    "4096 chars of valid shape": `v2.2.AAAAAAAA.${"A".repeat(4096 - 58)}.${"A".repeat(43)}`,
  };
  for (const [label, value] of Object.entries(hostile)) {
    it(`${label}: the stored session through one store read, and a genuine snapshot replaces it`, async () => {
      const t = rig();
      const b = await loggedIn(t);
      const jar = {
        get: (name: string) =>
          name === "sid" ? { value: b.jar.get("sid") as string } : name === "sid.cache" ? { value } : undefined,
      };
      const s = await t.sessions.load(jar);
      expect(s.get("userId")).toBe("u1");
      expect(t.calls.get).toBe(1);
      expect(names(await s.commit())).toEqual(["sid.cache:30"]);
    });
  }

  it("duplicate cache cookies (a tossed junk one before or after the genuine one): never an error, never another session's data", async () => {
    const t = rig();
    const victim = await loggedIn(t, "victim");
    const attacker = await loggedIn(t, "attacker");
    const token = victim.jar.get("sid") as string;
    for (const header of [
      `sid=${token}; sid.cache=junk; sid.cache=${victim.jar.get("sid.cache")}`,
      `sid.cache=${attacker.jar.get("sid.cache")}; sid=${token}; sid.cache=${victim.jar.get("sid.cache")}`,
      `sid=${token}; sid.cache=${victim.jar.get("sid.cache")}; sid.cache=${attacker.jar.get("sid.cache")}`,
    ]) {
      const s = await t.sessions.load(header);
      expect(s.get("userId")).toBe("victim");
      await s.commit();
    }
  });

  it("a truncated or re-ordered snapshot (parts swapped) is refused", async () => {
    const t = rig();
    const b = await loggedIn(t);
    const value = b.jar.get("sid.cache") as string;
    const parts = value.split(".");
    const variants = [
      value.slice(0, -1),
      value.slice(0, value.length - 44),
      [parts[0], parts[1], parts[2], parts[4], parts[3]].join("."),
      value.replace("v2.2.", "v2.0."),
      value.replace("v2.2.", "v2.3."),
      `${value}.`,
      `${value}A`,
      `A${value}`,
    ];
    for (const variant of variants) {
      t.reset();
      const s = await t.sessions.load(`sid=${b.jar.get("sid")}; sid.cache=${variant}`);
      expect(s.get("userId")).toBe("u1");
      expect(t.calls.get).toBe(1);
    }
  });
});

describe("issue 14 cookie cache: the schema still decides", () => {
  it("a deploy that tightens the schema under the same version: a snapshot's now-invalid value never reaches the app", async () => {
    const store = memoryStore();
    const clock = testClock();
    const before = rig({ store, clock });
    const b = browser();
    await before.request(b, (s) => {
      s.set("userId", "u1");
      s.set("note", "x".repeat(50));
    });
    const strict = z.object({
      userId: z.string().optional(),
      role: z.enum(["user", "admin"]).optional(),
      note: z.string().max(10).optional(),
    });
    for (const onInvalid of ["drop", "throw", "reset"] as const) {
      const after = defineSession({
        schema: strict,
        store,
        cookie: { secure: false, name: "sid" },
        now: clock.now,
        onInvalid,
        cookieCache: { maxAge: "30s", secrets: SECRET },
      });
      // The same answer with the snapshot as from the store alone.
      const viaStore = await after.load(`sid=${b.jar.get("sid")}`).then(
        (s) => ({ note: s.get("note"), userId: s.get("userId"), isNew: s.isNew }),
        (e: { code?: string }) => e.code,
      );
      const viaSnapshot = await after.load(b.header).then(
        (s) => ({ note: s.get("note"), userId: s.get("userId"), isNew: s.isNew }),
        (e: { code?: string }) => e.code,
      );
      expect(viaSnapshot).toEqual(viaStore);
      if (typeof viaSnapshot === "object") expect(viaSnapshot.note).toBeUndefined();
      if (onInvalid === "reset") break; // reset dropped the record
    }
  });

  it("a version bump with a migration: the old snapshot is ignored and the store's data is migrated", async () => {
    const store = memoryStore();
    const clock = testClock();
    const v1 = rig({ store, clock });
    const b = await loggedIn(v1);
    const v2 = defineSession({
      schema,
      store,
      version: 2,
      migrations: { 2: (data: Record<string, unknown>) => ({ ...data, note: "migrated" }) },
      cookie: { secure: false, name: "sid" },
      now: clock.now,
      cookieCache: { maxAge: "30s", secrets: SECRET },
    } as never) as typeof v1.sessions;
    const s = await v2.load(b.header);
    expect(s.get("note")).toBe("migrated");
  });

  it("maxBytes: a session loaded from a snapshot cannot grow past maxBytes any more than one loaded from the store", async () => {
    const t = rig({ maxBytes: 400 });
    const b = browser();
    await t.request(b, (s) => s.set("note", "a".repeat(300)));
    for (const header of [b.header, `sid=${b.jar.get("sid")}`]) {
      const s = await t.sessions.load(header);
      const outcome = await (async () => {
        s.set("userId", "u".repeat(200));
        await s.commit();
      })().then(
        () => "ok",
        (e: { code?: string }) => e.code,
      );
      expect(outcome).toBe("SESSION_TOO_LARGE");
    }
  });
});

describe.skipIf(!redisUrl)("issue 14 cookie cache on Redis: writes elsewhere (another manager instance)", () => {
  let redis: Redis;
  const prefix = `issue14-cc-${randomUUID().slice(0, 8)}:`;
  beforeAll(() => {
    redis = new Redis(redisUrl as string);
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });

  /** The app's manager and an operator's (the CLI's) on the same Redis, on one clock. */
  function pair(extra: Omit<Partial<SessionOptions<typeof schema>>, "store"> = {}) {
    const clock = testClock();
    const app = rig({ ...extra, store: redisStore({ redis, prefix, indexes: ["userId"] }), clock });
    const cli = defineSession({
      schema,
      store: redisStore({ redis, prefix, indexes: ["userId"] }),
      now: clock.now,
      cookie: { secure: false, name: "sid" },
    });
    return { app, cli, clock };
  }
  const liveKeys = async () => {
    return keysOn([redis], `${prefix}s:*`);
  };

  for (const [label, revokeIt] of [
    [
      "operator.revoke",
      (cli: ReturnType<typeof pair>["cli"], _token: string) => cli.operator.revoke({ where: { userId: "u1" } }),
    ],
    ["sessions.revoke", (cli: ReturnType<typeof pair>["cli"], _token: string) => cli.revoke({ where: { userId: "u1" } })],
    ["destroy(token)", (cli: ReturnType<typeof pair>["cli"], token: string) => cli.destroy(token)],
  ] as const) {
    it(`${label} elsewhere: within the window every kind of write from the snapshot is refused or harmless, nothing is resurrected; after it, a fresh session`, async () => {
      const { app, cli, clock } = pair();
      const b = await loggedIn(app);
      const token = b.jar.get("sid") as string;
      await revokeIt(cli, token);
      const before = await liveKeys();
      clock.advance(5);
      // A patch: refused.
      await expect(app.request(b.clone(), (s) => s.set("note", "after revoke"))).rejects.toMatchObject({
        code: "SESSION_INTERRUPTED",
      });
      // clear() + set(): a whole-record write, refused (update-only).
      await expect(
        app.request(b.clone(), (s) => {
          s.clear();
          s.set("userId", "u1");
        }),
      ).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
      // rotate() and login(): read the store first, refused.
      await expect(app.request(b.clone(), (s) => s.rotate())).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
      await expect(app.request(b.clone(), (s) => s.login("userId", "u1"))).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
      // setExpiry (a remember-me toggle): no resurrection, no error needed.
      await app
        .request(b.clone(), (s) => s.setExpiry({ days: 30 }))
        .catch((e: { code?: string }) => expect(e.code).toBe("SESSION_INTERRUPTED"));
      expect(await liveKeys()).toEqual(before);
      expect(await cli.get(token)).toBeNull();
      // A rolling touch (idle lifetime past its half): the store refuses it and the snapshot is cleared.
      clock.advance(26);
      const { result, setCookies } = await app.request(b, (s) => [s.get("userId"), s.isNew]);
      expect(result).toEqual([undefined, true]);
      expect(names(setCookies)).toEqual(["sid.cache:0"]);
      expect(await liveKeys()).toEqual(before);
    });
  }

  it("a rolling touch from a snapshot moves the store's expiry, and a touch of a revoked session is refused and clears the snapshot", async () => {
    const { app, cli, clock } = pair({ maxAge: "60s", touchAfter: "1s" } as Partial<SessionOptions<typeof schema>>);
    const b = await loggedIn(app);
    const token = b.jar.get("sid") as string;
    const exp0 = (await cli.get(token))?.expiresAt.getTime() as number;
    clock.advance(25);
    // Still inside the snapshot's window (30 s) and past half the idle lifetime: a touch.
    const touched = await app.request(b, (s) => s.get("userId"));
    expect(touched.result).toBe("u1");
    expect(app.calls.get).toBe(0);
    const exp1 = (await cli.get(token))?.expiresAt.getTime() as number;
    expect(exp1).toBeGreaterThan(exp0);
    // The touch re-sent the session cookie, and a snapshot whose window still ends 30 s after the store read.
    expect(names(touched.setCookies)).toEqual(["sid:60", "sid.cache:5"]);
    await cli.destroy(token);
    clock.advance(2);
    const { setCookies, result } = await app.request(b, (s) => s.get("userId"));
    // Served from the snapshot (within the window), its touch refused: no error, the snapshot
    // cleared, nothing resurrected; the next request reads the store and finds nothing.
    expect(result).toBe("u1");
    expect(names(setCookies)).toEqual(["sid.cache:0"]);
    expect(await cli.get(token)).toBeNull();
    const next = await app.request(b, (s) => s.isNew);
    expect(next.result).toBe(true);
  });
});

describe("issue 14 cookie cache: rotation grace (a login racing the browser's other requests)", () => {
  /** The browser's cookies before a login, and the login done in another request of the same browser. */
  async function racingLogin(cookieCache: boolean) {
    const clock = testClock();
    const store = memoryStore();
    const t = rig({ store, clock, rotationGrace: "10s", ...(cookieCache ? {} : { cookieCache: undefined }) } as never);
    const b = browser();
    await t.request(b, (s) => s.set("note", "anonymous cart"));
    const before = b.clone();
    clock.advance(1);
    await t.request(b, (s) => s.login("userId", "u1"));
    clock.advance(1);
    return { t, b, before };
  }

  it("without the tier: a write through the old token within rotationGrace reaches the rotated session (B4)", async () => {
    const { t, b, before } = await racingLogin(false);
    await t.request(before, (s) => s.set("role", "user"));
    expect((await t.request(b, (s) => s.get("role"))).result).toBe("user");
  });

  // Documented limit (docs/stores.md, Limits: "With rotationGrace, a request still carrying the
  // pre-rotation cookies reads the old snapshot and its writes are refused"), though it narrows
  // rotationGrace's own promise (B4, the test above): the pair loads from the old token's
  // snapshot (src/manager.ts fromSnapshot, viaGrace false), its patch targets the shadow, which
  // every store refuses. Pinned here so a change to either side is seen.
  it("with the tier (documented limit): the same write through the old token + its snapshot is refused, nothing lands", async () => {
    const { t, b, before } = await racingLogin(true);
    await expect(t.request(before, (s) => s.set("role", "user"))).rejects.toMatchObject({ code: "SESSION_INTERRUPTED" });
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("role")).toBeUndefined();
  });

  it("with the tier: the old token alone (no snapshot) still goes through the grace shadow to the rotated record", async () => {
    const { t, b, before } = await racingLogin(true);
    before.jar.delete("sid.cache");
    await t.request(before, (s) => s.set("role", "user"));
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("role")).toBe("user");
  });

  // Was a DEFECT: a write through a grace shadow landed on the rotated record but its response did
  // not clear the snapshot the browser got from the rotating response: it now clears it.
  it("with the tier: the browser reads its own write made through the grace shadow", async () => {
    const { t, b, before } = await racingLogin(true);
    before.jar.delete("sid.cache");
    const { setCookies } = await t.request(before, (s) => s.set("role", "user"));
    b.apply(setCookies);
    expect((await t.request(b, (s) => s.get("role"))).result).toBe("user");
  });
});

describe("issue 14 cookie cache: one browser's own actions", () => {
  it("destroy() from a snapshot-loaded session deletes the record and clears both cookies", async () => {
    const t = rig();
    const b = await loggedIn(t);
    const token = b.jar.get("sid") as string;
    const { setCookies } = await t.request(b, (s) => s.destroy());
    expect(t.calls.get).toBe(0);
    expect(names(setCookies).sort()).toEqual(["sid.cache:0", "sid:0"]);
    expect(await t.sessions.get(token)).toBeNull();
  });

  it("a flash popped from a snapshot is deleted from the store and absent from the next snapshot", async () => {
    const t = rig();
    const b = browser();
    await t.request(b, (s) => {
      s.set("userId", "u1");
      s.set("note", "flash!");
    });
    const { result } = await t.request(b, (s) => s.pop("note"));
    expect(result).toBe("flash!");
    expect((await t.request(b, (s) => s.get("note"))).result).toBeUndefined();
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("note")).toBeUndefined();
  });

  it("setExpiry(past) from a snapshot ends the session in the store and clears the snapshot", async () => {
    const t = rig();
    const b = await loggedIn(t);
    const token = b.jar.get("sid") as string;
    const { setCookies } = await t.request(b, (s) => s.setExpiry(new Date(t.clock.now() - 1000)));
    expect(names(setCookies)).toContain("sid.cache:0");
    expect(await t.sessions.get(token)).toBeNull();
  });

  it("a snapshot older than the session's idle expiry or its absolute expiry is not served", async () => {
    const t = rig({ maxAge: "20s", absoluteMaxAge: "25s", rolling: false } as never);
    const b = await loggedIn(t);
    t.clock.advance(20);
    expect((await t.request(b.clone(), (s) => s.isNew)).result).toBe(true);
    expect(t.calls.get).toBeGreaterThan(0);
  });

  it("a future freshAt (this server's clock behind the sealing server's) is ignored, not trusted to stretch the window", async () => {
    const store = memoryStore();
    const ahead = testClock(Date.UTC(2026, 0, 1, 12, 5));
    const behind = testClock(Date.UTC(2026, 0, 1, 12));
    const a = rig({ store, clock: ahead });
    const b = await loggedIn(a);
    const slow = rig({ store, clock: behind });
    const s = await slow.sessions.load(b.header);
    expect(slow.calls.get).toBe(1);
    expect(s.get("userId")).toBe("u1");
  });
});

describe("issue 14 cookie cache: the holder replays an older snapshot of their own session", () => {
  /** One OTP try: refused from the 4th on, as an app that counts tries in the session would. */
  async function tryOtp(t: Rig, jar: Jar): Promise<"tried" | "locked" | "refused"> {
    try {
      const { result } = await t.request(jar, (s) => {
        const attempts = s.get("attempts") ?? 0;
        if (attempts >= 3) return "locked" as const;
        s.set("attempts", attempts + 1);
        return "tried" as const;
      });
      return result;
    } catch (error) {
      if (error instanceof SessionInterruptedError) return "refused";
      throw error;
    }
  }

  it("without the tier: a try counter in the session holds against a replayed cookie jar", async () => {
    const t = rig({ cookieCache: undefined } as never);
    const first = browser();
    await t.request(first, (s) => s.set("userId", "u1"));
    expect([...first.jar.keys()]).toEqual(["sid"]);
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await tryOtp(t, first.clone()));
    expect(outcomes).toEqual(["tried", "tried", "tried", "locked", "locked", "locked"]);
  });

  // Was a DEFECT (security): the holder could reset a value kept in the session (a try counter,
  // a one-time nonce) by replaying an older snapshot within the window, and the patch decided on
  // it was stored. The first write of a snapshot-loaded session now checks the store: a key the
  // request looked at that holds another value there refuses the write (SessionInterruptedError).
  it("with the tier: a try counter in the session holds against a replayed snapshot", async () => {
    const t = rig();
    const first = await loggedIn(t);
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) {
      t.clock.advance(1);
      outcomes.push(await tryOtp(t, first.clone()));
    }
    expect(outcomes).toEqual(["tried", "refused", "refused", "refused", "refused", "refused"]);
    expect((await t.sessions.get(first.jar.get("sid") as string))?.get("attempts")).toBe(1);
    // Past the window the replayed jar reads the store: the counter goes on from where it is.
    t.clock.advance(25);
    expect(await tryOtp(t, first.clone())).toBe("tried");
    expect((await t.sessions.get(first.jar.get("sid") as string))?.get("attempts")).toBe(2);
  });

  it("with the tier: a browser that keeps its cookies up to date counts every try", async () => {
    const t = rig();
    const b = await loggedIn(t);
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) outcomes.push(await tryOtp(t, b));
    expect(outcomes).toEqual(["tried", "tried", "tried", "locked", "locked"]);
  });

  it("with the tier: a one-time nonce popped once cannot be popped again from the pre-consumption snapshot", async () => {
    const t = rig();
    const b = browser();
    await t.request(b, (s) => s.set("note", "nonce-1"));
    const kept = b.clone();
    expect((await t.request(b, (s) => s.pop("note"))).result).toBe("nonce-1");
    await expect(t.request(kept, (s) => s.pop("note"))).rejects.toBeInstanceOf(SessionInterruptedError);
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("note")).toBeUndefined();
  });
});

describe("issue 14 cookie cache: a read and a write of one browser in parallel", () => {
  const append = (s: { get(key: "note"): string | undefined; set(key: "note", value: string): void }, item: string) =>
    s.set("note", `${s.get("note") ?? ""}${item}`);

  it("(characterised) the read's response arriving last leaves a snapshot that hides the write from the next reads", async () => {
    const t = rig();
    const b = browser();
    await t.request(b, (s) => append(s, "a"));
    t.clock.advance(31); // the snapshot is past its window: both requests read the store
    const read = await t.sessions.load(b.header);
    const write = await t.sessions.load(b.header);
    append(write, "b");
    b.apply(await write.commit());
    b.apply(await read.commit());
    expect((await t.request(b, (s) => s.get("note"))).result).toBe("a");
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("note")).toBe("ab");
  });

  // Was a DEFECT (same root cause as the replay above): the browser's next read-modify-write
  // started from the read's stale snapshot and overwrote the parallel write. It is now refused
  // until the window ends, and the store keeps both writes.
  it("the next read-modify-write does not undo the parallel write", async () => {
    const t = rig();
    const b = browser();
    await t.request(b, (s) => append(s, "a"));
    t.clock.advance(31);
    const read = await t.sessions.load(b.header);
    const write = await t.sessions.load(b.header);
    append(write, "b");
    b.apply(await write.commit());
    b.apply(await read.commit());
    await expect(t.request(b, (s) => append(s, "c"))).rejects.toBeInstanceOf(SessionInterruptedError);
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("note")).toBe("ab");
    t.clock.advance(31);
    await t.request(b, (s) => append(s, "c"));
    expect((await t.sessions.get(b.jar.get("sid") as string))?.get("note")).toBe("abc");
  });
});
