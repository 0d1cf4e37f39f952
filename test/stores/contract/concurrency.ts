import { expect } from "vitest";
import * as z from "zod";
import { SessionTooLargeError } from "../../../src/index.js";
import { hashToken } from "../../../src/token.js";
import { cookieHeader, tokenOf } from "../../helpers/cookies.js";
import { type ContractScope, entryMeasure, makeSessions, type StoreHarness, serverOnly, serverStore, signedIn } from "./setup.js";

/** Saves are patches: concurrent requests of one session keep each other's writes (R52, R53). */
export function concurrencyContract(harness: () => StoreHarness, scope: ContractScope): void {
  const it = serverOnly(scope);
  it("R53: save() after set(cart) in one request and set(theme) in another keeps both", async () => {
    const { sessions } = makeSessions(harness());
    const cookie = cookieHeader(await signedIn(sessions));

    const [a, b] = await Promise.all([sessions.load(cookie), sessions.load(cookie)]);
    a.set("cart", [{ sku: "apple", qty: 1 }]);
    b.set("theme", "dark");
    await Promise.all([a.save(), b.save()]);

    const c = await sessions.load(cookie);
    expect(c.get("cart")).toEqual([{ sku: "apple", qty: 1 }]);
    expect(c.get("theme")).toBe("dark");
    expect(c.get("userId")).toBe("u1");
  });

  it("issue 12.1: one session shared by concurrent procedures (a tRPC batch): a change made while another procedure's save is in flight is saved, not marked saved unsent", async () => {
    const { sessions } = makeSessions(harness());
    const cookie = cookieHeader(await signedIn(sessions));
    const session = await sessions.load(cookie);
    session.set("cart", [{ sku: "apple", qty: 1 }]);
    const first = session.commit(); // in flight
    session.set("theme", "dark");
    session.delete("userId");
    await first;
    await session.commit(); // the other procedure commits once the first is done
    const loaded = await sessions.load(cookie);
    expect(loaded.get("cart")).toEqual([{ sku: "apple", qty: 1 }]);
    expect(loaded.get("theme")).toBe("dark");
    expect(loaded.has("userId")).toBe(false);
  });

  it("issue 12.1: a new session committed by two procedures at once is created once and keeps both writes; a login (rotate) beside an add keeps the cart", async () => {
    const { sessions } = makeSessions(harness());
    const session = await sessions.load(undefined);
    session.set("visits", 1);
    const first = session.commit();
    session.set("theme", "dark");
    const [a, b] = await Promise.all([first, session.commit()]);
    const cookie = cookieHeader([...a, ...b]);
    const loaded = await sessions.load(cookie);
    expect([loaded.get("visits"), loaded.get("theme")]).toEqual([1, "dark"]);

    const login = (async () => {
      await loaded.rotate();
      loaded.set("userId", "u1");
      return loaded.commit();
    })();
    loaded.set("cart", [{ sku: "pear", qty: 2 }]);
    const add = loaded.commit();
    const sent = [...(await login), ...(await add)];
    expect(new Set(sent.map((c) => c.split(";")[0]))).toHaveProperty("size", 1); // one new token
    const after = await sessions.load(cookieHeader(sent));
    expect(after.get("userId")).toBe("u1");
    expect(after.get("cart")).toEqual([{ sku: "pear", qty: 2 }]);
    expect((await sessions.load(cookie)).isNew).toBe(true); // the pre-login token is dead
  });

  it("R53: 50 concurrent requests each setting its own key lose none", async () => {
    const shape: Record<string, z.ZodOptional<z.ZodNumber>> = {};
    for (let i = 0; i < 50; i++) shape[`k${i}`] = z.number().optional();
    const { sessions } = makeSessions(harness(), { schema: z.object(shape) });
    const s = await sessions.load(undefined);
    s.set("k0", -1);
    const cookie = cookieHeader(await s.commit());

    const loaded = await Promise.all(Array.from({ length: 50 }, () => sessions.load(cookie)));
    await Promise.all(
      loaded.map((session, i) => {
        session.set(`k${i}`, i);
        return session.save();
      }),
    );
    const all = (await sessions.load(cookie)).all() as Record<string, number>;
    for (let i = 0; i < 50; i++) expect(all[`k${i}`]).toBe(i);
  });

  it("R53: two writes to the same key resolve last-writer-wins for that key only", async () => {
    const { sessions } = makeSessions(harness());
    const s = await sessions.load(undefined);
    s.set("theme", "light");
    const cookie = cookieHeader(await s.commit());
    const [a, b] = await Promise.all([sessions.load(cookie), sessions.load(cookie)]);
    a.set("theme", "dark");
    a.set("userId", "from-a");
    b.set("theme", "light");
    await a.save();
    await b.save();
    const c = await sessions.load(cookie);
    expect(c.get("theme")).toBe("light");
    expect(c.get("userId")).toBe("from-a");
  });

  it("R52: a read-only request does not write back stale data over a concurrent write", async () => {
    const { sessions, calls, resetCalls } = makeSessions(harness());
    const s = await sessions.load(undefined);
    s.set("visits", 1);
    const cookie = cookieHeader(await s.commit());
    const reader = await sessions.load(cookie);
    const writer = await sessions.load(cookie);
    writer.set("visits", 2);
    await writer.save();
    resetCalls();
    expect(reader.get("visits")).toBe(1);
    expect(await reader.commit()).toEqual([]);
    expect(calls.patch + calls.replace + calls.touch).toBe(0);
    expect((await sessions.load(cookie)).get("visits")).toBe(2);
  });

  it("B9: 50 concurrent writers of different keys cannot grow the stored record past maxBytes", async () => {
    const h = harness();
    const shape: Record<string, z.ZodOptional<z.ZodString>> = {};
    for (let i = 0; i < 50; i++) shape[`k${i}`] = z.string().optional();
    const { sessions, clock } = makeSessions(h, { schema: z.object(shape), maxBytes: 10_000 });
    const s = await sessions.load(undefined);
    s.set("k0", "seed");
    const setCookies = await s.commit();
    const cookie = cookieHeader(setCookies);

    // Every request loads the small record, so each one's own set() check passes: only the
    // store, at save, sees what the others wrote meanwhile.
    const loaded = await Promise.all(Array.from({ length: 50 }, () => sessions.load(cookie)));
    const results = await Promise.allSettled(
      loaded.map((session, i) => {
        session.set(`k${i}`, `${i}:`.padEnd(1000, "x"));
        return session.commit();
      }),
    );
    const committed: number[] = [];
    results.forEach((result, i) => {
      if (result.status === "fulfilled") committed.push(i);
      else expect(result.reason).toBeInstanceOf(SessionTooLargeError);
    });
    expect(committed.length).toBeGreaterThan(0);
    expect(committed.length).toBeLessThan(50);

    const stored = await serverStore(h).get(hashToken(tokenOf(setCookies)), new Date(clock.now()));
    const measure = entryMeasure(h);
    const bytes = Object.entries(stored?.data ?? {}).reduce((sum, [key, entry]) => sum + measure(key, entry), 0);
    expect(bytes).toBeLessThanOrEqual(10_000);
    // No committed write was lost, and no refused one landed.
    const after = (await sessions.load(cookie)).all() as Record<string, string | undefined>;
    for (let i = 0; i < 50; i++) {
      if (committed.includes(i)) expect(after[`k${i}`]).toBe(`${i}:`.padEnd(1000, "x"));
      else if (i > 0) expect(after[`k${i}`]).toBeUndefined();
    }

    // Near the limit, a small write replacing an existing key still goes through.
    const next = await sessions.load(cookie);
    const key = `k${committed[0]}`;
    next.set(key, "small");
    await next.commit();
    expect((await sessions.load(cookie)).get(key)).toBe("small");
  });
}
