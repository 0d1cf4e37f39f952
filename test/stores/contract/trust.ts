import { expect, it } from "vitest";
import {
  defineSession,
  SessionConfigError,
  SessionInterruptedError,
  SessionStoreError,
  SessionTooLargeError,
  SessionValidationError,
} from "../../../src/index.js";
import type { SessionStore } from "../../../src/store.js";
import { hashToken } from "../../../src/token.js";
import { cookieHeader } from "../../helpers/cookies.js";
import { writes } from "../../helpers/counting-store.js";
import {
  appSchema,
  type ContractScope,
  follow,
  makeSessions,
  type StoreHarness,
  serverOnly,
  serverStore,
  signedIn,
} from "./setup.js";

/** Hostile values any JSON request body can carry, in every place superjson writes a string. */
const loneSurrogates = ["\ud800", "a\udc00b", "\udfff", "x\ud83d"];

/** Defects found by attacking Tessera (issue 11 B3, B4, B7, B14), on every store. */
export function trustContract(harness: () => StoreHarness, scope: ContractScope): void {
  const serverIt = serverOnly(scope);

  it("B3: a lone UTF-16 surrogate is refused at set() with SessionValidationError, in a value, nested, an object key, a Map key and a Set member; nothing changes or is written", async () => {
    const { sessions, calls, resetCalls } = makeSessions(harness());
    const session = await sessions.load(undefined);
    session.set("notice", "kept");
    const setCookies = await session.commit();
    const next = await sessions.load(follow("", setCookies));
    resetCalls();
    for (const bad of loneSurrogates) {
      const attempts: (() => void)[] = [
        () => next.set("notice", bad),
        () => next.set("profile", { name: bad }),
        () => next.set("prefs", { [bad]: "v" }),
        () => next.set("scores", new Map([[bad, 1n]])),
        () => next.set("tags", new Set(["ok", bad])),
        () => next.update({ theme: "dark", notice: bad }),
        () => next.setdefault("otp", bad),
        () => next.flash("userId", bad),
      ];
      for (const attempt of attempts) expect(attempt).toThrow(SessionValidationError);
    }
    expect(next.get("notice")).toBe("kept");
    expect(next.get("theme")).toBe("light");
    expect(next.has("profile") || next.has("prefs") || next.has("scores") || next.has("tags") || next.has("otp")).toBe(false);
    expect(next.isModified).toBe(false);
    expect(await next.commit()).toEqual([]);
    if (!scope.clientSide) expect(writes(calls)).toBe(0);
  });

  it("B3: paired surrogates, U+FFFF, and text that merely looks like an escape (a backslash then u0000 / ud800) round-trip exactly", async () => {
    const { sessions } = makeSessions(harness());
    const values = ["𝄞 and 😀", "\uffff\ufffe", "\\u0000", "\\ud800", "\\\\ud800", "tab\tnew\nline\u0001"];
    const session = await sessions.load(undefined);
    session.set("prefs", Object.fromEntries(values.map((v, i) => [v, values[(i + 1) % values.length] as string])));
    session.set("tags", new Set(values));
    session.set("notice", values.join("|"));
    const cookie = follow("", await session.commit());
    const loaded = await sessions.load(cookie);
    expect(loaded.isNew).toBe(false);
    expect(loaded.get("notice")).toBe(values.join("|"));
    expect([...(loaded.get("tags") ?? [])]).toEqual(values);
    expect(Object.keys(loaded.get("prefs") ?? {}).sort()).toEqual([...values].sort());
  });

  serverIt(
    "B4: rotationGrace does not turn fixation into a takeover: through the planted pre-login token, rotate/destroy/setExpiry are refused, no cookie is ever issued, and after the window the attacker holds nothing",
    async () => {
      const { sessions, clock } = makeSessions(harness(), { rotationGrace: "10s" });
      // The attacker gets a session and plants its cookie in the victim's browser.
      const planted = await sessions.load(undefined);
      planted.set("theme", "dark");
      const tokenA = cookieHeader(await planted.commit());
      // The victim logs in with it: rotate, then the identity.
      const login = await sessions.load(tokenA);
      await login.rotate();
      login.set("userId", "victim");
      const victim = cookieHeader(await login.commit());
      expect(victim).not.toBe(tokenA);

      // Within the window the attacker uses A and tries every method.
      clock.advance(2);
      const attack = await sessions.load(tokenA);
      expect(attack.get("userId")).toBe("victim"); // the documented trade-off: reads (and data writes) reach it
      await expect(attack.rotate()).rejects.toBeInstanceOf(SessionInterruptedError);
      await expect(attack.destroy()).rejects.toBeInstanceOf(SessionInterruptedError);
      expect(() => attack.setExpiry({ days: 365 })).toThrow(SessionInterruptedError);
      expect(() => attack.setExpiry(0)).toThrow(SessionInterruptedError);
      expect(() => attack.setExpiry(null)).toThrow(SessionInterruptedError);
      attack.set("visits", 1);
      const sent = await attack.commit();
      expect(sent.filter((c) => !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(c))).toEqual([]);
      // A second request through A, reading only: still no cookie.
      clock.advance(1);
      expect(await (await sessions.load(tokenA)).commit()).toEqual([]);

      // The victim's own token was not killed, and is still theirs.
      const victimView = await sessions.load(victim);
      expect(victimView.isNew).toBe(false);
      expect(victimView.get("userId")).toBe("victim");
      await victimView.commit();

      // After the window, token A reaches nothing.
      clock.advance(10);
      const after = await sessions.load(tokenA);
      expect(after.isNew).toBe(true);
      expect(after.get("userId")).toBeUndefined();
      expect((await sessions.load(victim)).get("userId")).toBe("victim");
    },
  );

  it("B7: durations past Date's range are refused at the call with SessionValidationError; nothing is written", async () => {
    const h = harness();
    const { sessions, calls, resetCalls } = makeSessions(h);
    const cookie = follow("", await signedIn(sessions));
    resetCalls();
    const session = await sessions.load(cookie);
    for (const huge of [1e14, 8.64e12, Number.MAX_VALUE, "100000000000d", { days: 1e12 }] as const) {
      expect(() => session.setExpiry(huge)).toThrow(SessionValidationError);
      expect(() => session.set("otp", "123456", { ttl: huge })).toThrow(SessionValidationError);
    }
    expect(session.has("otp")).toBe(false);
    expect(session.isModified).toBe(false);
    expect(await session.commit()).toEqual([]);
    if (!scope.clientSide) expect(writes(calls)).toBe(0);
    // Options are checked at start-up.
    for (const option of ["maxAge", "absoluteMaxAge", "touchAfter", "rotationGrace", "storeTimeout"] as const) {
      expect(() => makeSessions(h, { [option]: 1e14 })).toThrow(SessionConfigError);
    }
  });

  it("B7: the longest accepted durations (1,000 years) and the last accepted instant (end of year 9999) are stored and load back; a later Date is refused", async () => {
    const { sessions, clock } = makeSessions(harness());
    const long = await sessions.load(undefined);
    long.set("userId", "u1");
    long.setExpiry({ days: 1000 * 365 });
    long.set("otp", "1", { ttl: { days: 1000 * 365 } });
    const cookie = follow("", await long.commit());
    clock.advance(86400 * 365);
    const loaded = await sessions.load(cookie);
    expect(loaded.get("userId")).toBe("u1");
    expect(loaded.get("otp")).toBe("1");

    const last = await sessions.load(undefined);
    last.set("userId", "u2");
    for (const late of [new Date(8.64e15), new Date(Date.UTC(10000, 0, 1))]) {
      expect(() => last.setExpiry(late)).toThrow(SessionValidationError);
    }
    last.setExpiry(new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)));
    const lastCookie = follow("", await last.commit());
    expect((await sessions.load(lastCookie)).get("userId")).toBe("u2");
  });

  it("B14: a new session expired on purpose (setExpiry in the past) is never written nor sent", async () => {
    const h = harness();
    const { sessions, calls, clock } = makeSessions(h);
    const before = scope.clientSide ? 0 : await h.count();
    const session = await sessions.load(undefined);
    session.set("userId", "u1");
    session.setExpiry(new Date(clock.now() - 1000));
    expect(await session.commit()).toEqual([]);
    expect(calls.create ?? 0).toBe(0);
    if (!scope.clientSide) expect(await h.count()).toBe(before);
    // A request that came with a (stale) cookie gets it cleared, still without a write.
    const stale = await sessions.load(`${sessions.cookieName}=${"A".repeat(43)}`);
    stale.set("userId", "u1");
    stale.setExpiry(new Date(clock.now()));
    const sent = await stale.commit();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/Max-Age=0/i);
    expect(calls.create ?? 0).toBe(0);
  });

  it("B9: after maxBytes is lowered, a session already past it can still shrink (a smaller value, a delete) but not grow", async () => {
    const h = harness();
    const { sessions } = makeSessions(h, { maxBytes: 4000 });
    const first = await sessions.load(undefined);
    first.set("notice", "n".repeat(1500));
    first.set("otp", "o".repeat(300));
    const cookie = follow("", await first.commit());
    const { sessions: lowered } = makeSessions(h, { maxBytes: 1000 });
    const session = await lowered.load(cookie);
    expect(session.get("notice")).toHaveLength(1500);
    expect(() => session.set("userId", "u1")).toThrow(SessionTooLargeError);
    session.set("notice", "n".repeat(1200));
    const next = follow(cookie, await session.commit());
    const again = await lowered.load(next);
    expect(again.get("notice")).toHaveLength(1200);
    again.delete("otp");
    const last = follow(next, await again.commit());
    const loaded = await lowered.load(last);
    expect(loaded.has("otp")).toBe(false);
    expect(loaded.get("notice")).toHaveLength(1200);
  });

  serverIt(
    "B4: clear() through the old token during the grace window keeps the victim's own expiry (it can neither stretch nor cut it)",
    async () => {
      const { sessions, clock } = makeSessions(harness(), { rotationGrace: "10s", maxAge: "14d" });
      const tokenA = cookieHeader(await signedIn(sessions, "u1"));
      const login = await sessions.load(tokenA);
      await login.rotate();
      login.set("userId", "victim");
      login.setExpiry({ hours: 1 });
      const victim = cookieHeader(await login.commit());
      const expiresAt = (await sessions.load(victim)).expiresAt.getTime();
      clock.advance(2);
      const attack = await sessions.load(tokenA);
      attack.clear();
      attack.set("userId", "victim");
      expect(await attack.commit()).toEqual([]);
      const after = await sessions.load(victim);
      expect(after.expiresAt.getTime()).toBeLessThanOrEqual(expiresAt + 2000);
      clock.advance(2 * 3600);
      expect((await sessions.load(victim)).isNew).toBe(true);
    },
  );

  serverIt(
    "B4: a request that loaded before a rotation with grace cannot write into the emptied shadow, nor turn it into a live session of its own",
    async () => {
      const { sessions } = makeSessions(harness(), { rotationGrace: 60 });
      const tokenA = cookieHeader(await signedIn(sessions, "u1"));
      const early = await sessions.load(tokenA);
      const early2 = await sessions.load(tokenA);
      const login = await sessions.load(tokenA);
      await login.rotate();
      const tokenB = cookieHeader(await login.commit());
      early.set("theme", "dark");
      await expect(early.commit()).rejects.toBeInstanceOf(SessionInterruptedError);
      early2.clear();
      early2.set("notice", "mine");
      await expect(early2.commit()).rejects.toBeInstanceOf(SessionInterruptedError);
      // The old token still reaches the rotated session (not an independent one holding early2's data).
      const viaOld = await sessions.load(tokenA);
      expect(viaOld.get("userId")).toBe("u1");
      expect(viaOld.get("notice")).toBeUndefined();
      expect(await viaOld.commit()).toEqual([]);
      expect((await sessions.load(tokenB)).get("userId")).toBe("u1");
    },
  );

  serverIt(
    "C: a write that reaches the store after its deadline, past a newer write, is refused and cannot undo it (patch and replace)",
    async () => {
      const h = harness();
      const { sessions, clock } = makeSessions(h);
      const t0 = clock.now();
      const cookie = follow("", await signedIn(sessions, "u1"));
      const id = hashToken(cookie.split("=")[1] as string);
      clock.advance(10);
      const newer = await sessions.load(cookie);
      newer.set("theme", "dark");
      await newer.commit();
      const store = serverStore(h);
      const now = new Date(clock.now());
      const expiresAt = new Date(clock.now() + 3600_000);
      // Stamped at t0 by a request that gave up at t0 + 5 s; it lands now, after the newer write.
      const late = {
        set: { theme: { json: "light" } },
        deleted: [],
        expiresAt,
        updatedAt: new Date(t0),
        schemaVersion: 1,
        maxBytes: 65536,
      };
      await expect(store.patch(id, { ...late, notAfter: new Date(t0 + 5000) }, now)).rejects.toBeInstanceOf(SessionStoreError);
      const record = await store.get(id, now);
      expect(record?.data.theme?.json).toBe("dark");
      await expect(
        store.replace({ ...(record as NonNullable<typeof record>), data: {}, updatedAt: new Date(t0) }, now, new Date(t0 + 5000)),
      ).rejects.toBeInstanceOf(SessionStoreError);
      expect((await sessions.load(cookie)).get("theme")).toBe("dark");
      // On time (its deadline after the newer write's stamp), a patch applies as usual.
      expect(await store.patch(id, { ...late, updatedAt: now, notAfter: new Date(clock.now() + 5000) }, now)).toEqual(
        expect.any(Number),
      );
      expect((await sessions.load(cookie)).get("theme")).toBe("light");
    },
  );

  serverIt(
    "C: a commit that timed out while the driver held it, then reached the store after a newer commit, does not revert it",
    async () => {
      const h = harness();
      const inner = serverStore(h);
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let held: Promise<unknown> | undefined;
      // Holds each patch until released, as a client holds a query while it reconnects.
      const holding: SessionStore = {
        ...inner,
        patch: (...args) => {
          held = gate.then(() => inner.patch(...args));
          return held as Promise<number | null>;
        },
      };
      let ms = Date.UTC(2026, 0, 1, 12);
      const now = () => ms;
      const slow = defineSession({ schema: appSchema, store: holding, cookie: { secure: true }, now, storeTimeout: 0.1 });
      const fast = defineSession({ schema: appSchema, store: inner, cookie: { secure: true }, now });
      const first = await fast.load(undefined);
      first.set("userId", "u1");
      const cookie = follow("", await first.commit());
      const stale = await slow.load(cookie);
      stale.set("theme", "light");
      await expect(stale.commit()).rejects.toBeInstanceOf(SessionStoreError); // 503 for that request
      ms += 2000;
      const newer = await fast.load(cookie);
      newer.set("theme", "dark");
      await newer.commit(); // committed: must survive
      release();
      await expect(held).rejects.toBeInstanceOf(SessionStoreError);
      expect((await fast.load(cookie)).get("theme")).toBe("dark");
    },
  );

  serverIt(
    "a read-only request that finishes after a parallel login rotated its session sends no clearing cookie (it would log the user out)",
    async () => {
      const { sessions, clock } = makeSessions(harness(), { touchAfter: 0 });
      const old = cookieHeader(await signedIn(sessions, "u1"));
      clock.advance(1); // a refresh is due for both requests
      const reading = await sessions.load(old);
      const login = await sessions.load(old);
      await login.rotate();
      login.set("userId", "u2");
      const fresh = await login.commit();
      expect(fresh).toHaveLength(1);
      expect(await reading.commit()).toEqual([]);
      expect((await sessions.load(cookieHeader(fresh))).get("userId")).toBe("u2");
      expect((await sessions.load(old)).isNew).toBe(true);
    },
  );

  serverIt(
    "C: app servers whose clocks disagree by more than storeTimeout still write (last writer wins), never a false 503",
    async () => {
      const h = harness();
      const behind = makeSessions(h, { storeTimeout: 0.5 });
      const ahead = makeSessions(h, { storeTimeout: 0.5 });
      ahead.clock.advance(60); // another server, a minute ahead
      const cookie = follow("", await signedIn(behind.sessions, "u1"));
      const first = await ahead.sessions.load(cookie);
      first.set("theme", "dark");
      await first.commit();
      const second = await behind.sessions.load(cookie);
      expect(second.get("theme")).toBe("dark");
      second.set("theme", "light");
      second.set("visits", 2);
      await second.commit();
      const third = await behind.sessions.load(cookie);
      third.clear();
      third.set("userId", "u2");
      await third.commit(); // a whole-record replace, likewise
      const loaded = await ahead.sessions.load(cookie);
      expect(loaded.get("userId")).toBe("u2");
      expect(loaded.get("theme")).toBe("light");
    },
  );

  serverIt(
    "B14: a stored session expired on purpose is deleted, not rewritten as a dead row; its cookie is cleared",
    async () => {
      const h = harness();
      const { sessions, calls, resetCalls, clock } = makeSessions(h);
      const cookie = follow("", await signedIn(sessions));
      const before = await h.count();
      resetCalls();
      const session = await sessions.load(cookie);
      session.set("visits", 3);
      session.setExpiry(new Date(clock.now() - 1));
      const sent = await session.commit();
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/Max-Age=0/i);
      expect(calls.patch + calls.replace + calls.create).toBe(0);
      expect(calls.delete).toBe(1);
      expect(await h.count()).toBe(before - 1);
      expect((await sessions.load(cookie)).isNew).toBe(true);
    },
  );

  serverIt(
    "B4: a token rotated twice within the grace window reaches the current record (not an emptied shadow), still without identity rights",
    async () => {
      const { sessions, clock } = makeSessions(harness(), { rotationGrace: "10s" });
      const tokenA = cookieHeader(await signedIn(sessions, "u1"));
      const first = await sessions.load(tokenA);
      await first.rotate();
      const tokenB = cookieHeader(await first.commit());
      clock.advance(1);
      const second = await sessions.load(tokenB);
      await second.rotate();
      second.set("theme", "dark");
      const tokenC = cookieHeader(await second.commit());
      clock.advance(1);
      const late = await sessions.load(tokenA);
      expect(late.get("userId")).toBe("u1");
      expect(late.get("theme")).toBe("dark");
      late.set("visits", 7);
      expect(await late.commit()).toEqual([]);
      await expect(late.rotate()).rejects.toBeInstanceOf(SessionInterruptedError);
      expect((await sessions.load(tokenC)).get("visits")).toBe(7);
    },
  );
}
