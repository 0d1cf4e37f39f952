/**
 * Issue 13.2 attack on the adapter kit (src/adapter-kit.ts): lockSession refuses every change
 * but still commits; isSettled is false exactly when commit would write or send a cookie (over
 * random request sequences, on both kinds of store); commitCookies' parts say what its header
 * says; and no entry point's runtime exports carry the kit.
 */
import { parseSetCookie } from "cookie";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { commitCookies, isSettled, lockSession } from "../../src/adapter-kit.js";
import { defineSession, SessionInterruptedError, type SessionOptions, SessionUsageError } from "../../src/index.js";
import { cookieStore } from "../../src/stores/cookie/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";

const A = "secret-A-secret-A-secret-A-secret-A-0001";
const schema = z.object({ userId: z.string().optional(), note: z.string().optional(), n: z.number().default(0) });
type Options = Partial<Omit<SessionOptions<typeof schema>, "store" | "schema">>;

function rig(kind: "memory" | "cookie", options: Options = {}, start?: number) {
  const clock = testClock(start);
  const counted = countingStore(kind === "memory" ? memoryStore() : cookieStore({ secrets: [A] }));
  const sessions = defineSession({
    schema,
    store: counted.store,
    cookie: { name: "sid", secure: true },
    now: clock.now,
    ...options,
  });
  const calls = counted.calls as Record<string, number>;
  const wrote = () => (kind === "memory" ? writes(counted.calls) : (calls.seal ?? 0));
  return { sessions, clock, calls, wrote, reset: counted.reset };
}

const usage = (run: () => unknown) => {
  let error: unknown;
  try {
    run();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SessionUsageError);
  expect((error as SessionUsageError).code).toBe("SESSION_USAGE");
  expect((error as Error).message).toContain("the response has started");
};

for (const kind of ["memory", "cookie"] as const) {
  describe(`issue 13 kit: lockSession on a ${kind} store`, () => {
    it("every mutating method throws SESSION_USAGE (naming the method and the reason), reads work, and commit saves what was set before the lock", async () => {
      const r = rig(kind);
      const s0 = await r.sessions.load(undefined);
      s0.set("userId", "u1");
      const cookie = cookieHeader(await s0.commit());
      const s = await r.sessions.load(cookie);
      s.set("note", "before lock");
      lockSession(s, "refused: the response has started");
      r.reset();
      usage(() => s.set("note", "x"));
      usage(() => s.delete("note"));
      usage(() => s.pop("note"));
      usage(() => s.clear());
      usage(() => s.setdefault("n", 1));
      usage(() => s.update({ n: 2 }));
      usage(() => s.flash("note", "f"));
      usage(() => s.consumeFlash("note"));
      usage(() => s.setExpiry(0));
      usage(() => s.discard());
      for (const pending of [s.rotate(), s.destroy(), s.login("userId", "u2")]) {
        await expect(pending).rejects.toBeInstanceOf(SessionUsageError);
      }
      expect(r.wrote()).toBe(0);
      expect(s.get("note")).toBe("before lock");
      expect(s.has("userId")).toBe(true);
      expect(s.all()).toMatchObject({ userId: "u1", note: "before lock" });
      const sent = await commitCookies(s);
      expect(r.wrote()).toBe(1);
      const next = kind === "memory" ? cookie : `sid=${sent[0]?.value}`;
      const loaded = await r.sessions.load(next);
      expect(loaded.get("note")).toBe("before lock");
      expect(loaded.get("userId")).toBe("u1");
      await s.save();
    });

    it("the message names the method that was refused", async () => {
      const r = rig(kind);
      const s = await r.sessions.load(undefined);
      lockSession(s, "refused: the response has started");
      expect(() => s.setExpiry(null)).toThrow(/session\.setExpiry\(\)/);
      await expect(s.rotate()).rejects.toThrow(/session\.rotate\(\)/);
    });
  });
}

type Op =
  | { op: "set"; value: string }
  | { op: "delete" }
  | { op: "clear" }
  | { op: "expiry"; value: "past" | "zero" | "null" | "idle" | "future" }
  | { op: "rotate" }
  | { op: "destroy" }
  | { op: "discard" }
  | { op: "advance"; seconds: number }
  | { op: "save" }
  | { op: "get" };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("set" as const), value: fc.constantFrom("a", "b") }),
  fc.record({ op: fc.constant("delete" as const) }),
  fc.record({ op: fc.constant("clear" as const) }),
  fc.record({ op: fc.constant("expiry" as const), value: fc.constantFrom("past", "zero", "null", "idle", "future") }),
  fc.record({ op: fc.constant("rotate" as const) }),
  fc.record({ op: fc.constant("destroy" as const) }),
  fc.record({ op: fc.constant("discard" as const) }),
  fc.record({ op: fc.constant("advance" as const), seconds: fc.constantFrom(1, 200, 400, 3000, 4000) }),
  fc.record({ op: fc.constant("save" as const) }),
  fc.record({ op: fc.constant("get" as const) }),
);

/** Lets a session that expired within the request (the clock passed maxAge) through; anything else fails the run. */
function interrupted(error: unknown): void {
  if (!(error instanceof SessionInterruptedError)) throw error;
}

// Each request: some operations, then a check of isSettled against the commit that follows.
const requestsArb = fc.array(fc.array(opArb, { maxLength: 6 }), { minLength: 1, maxLength: 5 });

for (const kind of ["memory", "cookie"] as const) {
  for (const options of [{}, { rolling: true, maxAge: "1h", touchAfter: "5m" }, { rolling: false, maxAge: "1h" }] as Options[]) {
    describe(`issue 13 kit: isSettled on a ${kind} store ${JSON.stringify(options)}`, () => {
      // The safe direction always (settled ⇒ the commit writes nothing and sends nothing), and exactness for read-only
      // requests on a stored session. Elsewhere isSettled may say false for a commit that then does nothing (a clear()
      // or setExpiry(past) of a new empty session, setExpiry(null) without an override): harmless, the adapter only waits.
      it("isSettled() true means the commit writes nothing and sends no cookie; on read-only requests of a stored session it is exact", async () => {
        await fc.assert(
          fc.asyncProperty(requestsArb, async (requests) => {
            // A start with milliseconds, so Max-Age flooring and touch throttles are not on round seconds.
            const r = rig(kind, options, Date.UTC(2026, 0, 1, 12, 0, 0, 123));
            let cookie: string | undefined;
            for (const ops of requests) {
              const s = await r.sessions.load(cookie);
              for (const step of ops) {
                switch (step.op) {
                  case "set":
                    s.set("note", step.value);
                    break;
                  case "delete":
                    s.delete("note");
                    break;
                  case "clear":
                    s.clear();
                    break;
                  case "expiry": {
                    const now = r.clock.now();
                    const value = {
                      past: new Date(now - 1000),
                      zero: 0 as const,
                      null: null,
                      idle: { minutes: 10 },
                      future: new Date(now + 7200_000),
                    }[step.value];
                    s.setExpiry(value);
                    break;
                  }
                  case "rotate":
                    await s.rotate().catch(interrupted);
                    break;
                  case "destroy":
                    await s.destroy();
                    break;
                  case "discard":
                    s.discard();
                    break;
                  case "advance":
                    r.clock.advance(step.seconds);
                    break;
                  case "save":
                    await s.save().catch(interrupted);
                    break;
                  case "get":
                    s.get("note");
                    break;
                }
              }
              const settled = isSettled(s);
              const wasNew = s.isNew;
              r.reset();
              // The clock may pass maxAge within a request: the write then finds the record gone (a write was tried).
              const sent = await commitCookies(s).catch((error: unknown) => {
                interrupted(error);
                return null;
              });
              const acted = sent === null || r.wrote() > 0 || sent.length > 0;
              if (sent === null) {
                expect(settled).toBe(false);
                continue;
              }
              if (settled && acted) throw new Error(`isSettled() was true but the commit acted: ${JSON.stringify(ops)}`);
              // Read-only requests (reads and time passing) must be exact: a refresh isSettled misses would go unsent.
              const readOnly = ops.every((step) => step.op === "get" || step.op === "advance");
              if (readOnly && !wasNew && !settled && !acted)
                throw new Error(`isSettled() was false but the commit did nothing: ${JSON.stringify(ops)}`);
              // The browser keeps what it was sent: a clearing cookie leaves it none.
              const last = sent.at(-1);
              if (last !== undefined) cookie = last.value === "" ? undefined : `sid=${last.value}`;
              r.clock.advance(1);
            }
          }),
          { numRuns: 150 },
        );
      });
    });
  }
}

describe("issue 13 kit: commitCookies' parts agree with its header", () => {
  function agree(cookie: { name: string; value: string; attributes: Record<string, unknown>; header: string }) {
    const parsed = parseSetCookie(cookie.header, { decode: (value) => value });
    expect(parsed.name).toBe(cookie.name);
    expect(parsed.value).toBe(cookie.value);
    const a = cookie.attributes as {
      path: string;
      domain?: string;
      secure: boolean;
      httpOnly: boolean;
      sameSite: string;
      partitioned?: true;
      maxAge?: number;
      expires?: Date;
    };
    expect(parsed.path).toBe(a.path);
    expect(parsed.domain).toBe(a.domain);
    expect(Boolean(parsed.secure)).toBe(a.secure);
    expect(Boolean(parsed.httpOnly)).toBe(a.httpOnly);
    expect(String(parsed.sameSite).toLowerCase()).toBe(a.sameSite);
    expect(Boolean(parsed.partitioned)).toBe(a.partitioned === true);
    expect(parsed.maxAge).toBe(a.maxAge);
    // The header carries whole seconds: the parts must name the same second (and Expires must agree with Max-Age).
    expect(parsed.expires === undefined).toBe(a.expires === undefined);
    if (a.expires !== undefined && parsed.expires !== undefined) {
      expect(Math.floor(parsed.expires.getTime() / 1000)).toBe(Math.floor(a.expires.getTime() / 1000));
    }
  }

  const cookieOptions = [
    { name: "sid", secure: true },
    { name: "app_session", secure: true, domain: "example.com", path: "/app", sameSite: "strict" as const, partitioned: true },
    { name: "dev", secure: false, httpOnly: false, sameSite: "lax" as const },
  ];

  for (const kind of ["memory", "cookie"] as const) {
    for (const cookie of cookieOptions) {
      it(`${kind} store, cookie ${JSON.stringify(cookie)}: set, refresh, browser-session and clearing cookies`, async () => {
        const clock = testClock(Date.UTC(2026, 0, 1, 12, 0, 0, 789));
        const store = kind === "memory" ? memoryStore() : cookieStore({ secrets: [A] });
        const sessions = defineSession({ schema, store, cookie, now: clock.now, maxAge: "1h", touchAfter: "1m" });
        const header = (value: string) => `${cookie.name}=${value}`;

        const s1 = await sessions.load(undefined);
        s1.set("userId", "u1");
        const [set] = await commitCookies(s1);
        expect(set?.attributes.maxAge).toBe(3600);
        agree(set as never);

        clock.advance(120.5);
        const s2 = await sessions.load(header(set?.value as string));
        const [refresh] = await commitCookies(s2);
        expect(refresh).toBeDefined();
        agree(refresh as never);
        expect(refresh?.attributes.expires?.getTime()).toBeGreaterThan(set?.attributes.expires?.getTime() as number);

        const s3 = await sessions.load(header(refresh?.value as string));
        s3.setExpiry(0);
        const [browser] = await commitCookies(s3);
        expect(browser?.attributes.maxAge).toBeUndefined();
        expect(browser?.attributes.expires).toBeUndefined();
        expect(browser?.header).not.toMatch(/max-age|expires/i);
        agree(browser as never);

        const s4 = await sessions.load(header(browser?.value as string));
        await s4.destroy();
        const [clearing] = await commitCookies(s4);
        expect(clearing?.value).toBe("");
        expect(clearing?.attributes.maxAge).toBe(0);
        agree(clearing as never);

        // session.commit() gives exactly the headers commitCookies gives.
        const s5 = await sessions.load(undefined);
        s5.set("userId", "u5");
        const [viaKit] = await commitCookies(s5);
        expect(await s5.commit()).toEqual([viaKit?.header]);
      });
    }
  }
});

describe("issue 13 kit: no entry point's runtime exports carry the kit", () => {
  const kitNames = [
    "commitCookies",
    "lockSession",
    "isSettled",
    "isStoreUnavailable",
    "isDispensable",
    "sessionInternals",
    "storeUnavailableResponse",
  ];
  const entries = {
    ".": () => import("../../src/index.js"),
    "./cookie": () => import("../../src/stores/cookie/index.js"),
    "./memory": () => import("../../src/stores/memory/index.js"),
    "./express": () => import("../../src/adapters/express.js"),
    "./hono": () => import("../../src/adapters/hono.js"),
    "./fetch": () => import("../../src/adapters/fetch.js"),
    "./next": () => import("../../src/adapters/next.js"),
    "./trpc": () => import("../../src/adapters/trpc.js"),
  };
  for (const [entry, load] of Object.entries(entries)) {
    it(`${entry} exports none of ${kitNames.join(", ")}`, async () => {
      const names = Object.keys(await load());
      expect(names.length).toBeGreaterThan(0);
      expect(names.filter((name) => kitNames.includes(name))).toEqual([]);
    });
  }

  it("a Session has no lock, isSettled or storeId at run time either", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const s = (await sessions.load(undefined)) as unknown as Record<string, unknown>;
    for (const name of ["lock", "isSettled", "storeId", "commitCookies"]) expect(name in s).toBe(false);
  });
});
