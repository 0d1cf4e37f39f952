import { expect } from "vitest";
import * as z from "zod";
import { cookieHeader } from "../../helpers/cookies.js";
import { type ContractScope, makeSessions, type StoreHarness, serverOnly, signedIn } from "./setup.js";

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
}
