import { expect, it } from "vitest";
import { SessionInterruptedError, type SessionManager } from "../../../src/index.js";
import { createToken } from "../../../src/token.js";
import { attribute, cookieHeader, tokenOf } from "../../helpers/cookies.js";
import { writes } from "../../helpers/counting-store.js";
import { type appSchema, type ContractScope, makeSessions, type StoreHarness, serverOnly, signedIn } from "./setup.js";

const badCookies: Record<string, string> = {
  unknown: `sid=${createToken()}`,
  malformed: "sid=not-a-token!",
  truncated: `sid=${createToken().slice(0, 30)}`,
  "10 KB": `sid=${"A".repeat(10 * 1024)}`,
  "non-ASCII": "sid=ſéśšíöñ-ĳ€𝄞ſéśšíöñ-ĳ€𝄞ſéśšíöñ-ĳ€𝄞ſéśšíöñ-ĳ",
  "percent-encoded": `sid=${encodeURIComponent(`${createToken().slice(0, 40)}+/=`)}`,
  empty: "sid=",
  "token plus junk": `sid=${createToken()}x`,
};

/** Tokens, cookies and the session lifecycle (SECURITY.md A–C). */
export function securityContract(harness: () => StoreHarness, scope: ContractScope): void {
  const serverIt = serverOnly(scope);
  for (const [kind, header] of Object.entries(badCookies)) {
    it(`R6/R7/R38: a ${kind} cookie gives a fresh empty session, no store write, no throw, no Set-Cookie`, async () => {
      const { sessions, calls } = makeSessions(harness());
      const session = await sessions.load(header);
      expect(session.isNew).toBe(true);
      expect(session.isEmpty).toBe(true);
      expect(await session.commit()).toEqual([]);
      if (!scope.clientSide) {
        expect(writes(calls)).toBe(0);
        if (kind !== "unknown") expect(calls.get).toBe(0); // R7: malformed values never reach the store
      }
    });
  }

  it("R6: a fresh session after an unknown cookie gets a server-made token, never the client's", async () => {
    const { sessions } = makeSessions(harness());
    const chosen = createToken();
    const session = await sessions.load(`sid=${chosen}`);
    session.set("userId", "u1");
    const token = tokenOf(await session.commit());
    expect(token).not.toBe(chosen);
    if (!scope.clientSide) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  serverIt("R8/CVE-2015-5143: 1,000 loads with unknown tokens add no record", async () => {
    const h = harness();
    const { sessions } = makeSessions(h);
    const before = await h.count();
    for (let i = 0; i < 1000; i++) await (await sessions.load(`sid=${createToken()}`)).commit();
    expect(await h.count()).toBe(before);
  });

  it("R9: an untouched new session is neither stored nor sent; destroying it sets no cookie", async () => {
    const h = harness();
    const { sessions } = makeSessions(h);
    const session = await sessions.load(undefined);
    expect(session.get("theme")).toBe("light");
    expect(await session.commit()).toEqual([]);
    await session.destroy();
    expect(await session.commit()).toEqual([]);
    expect(await h.count()).toBe(0);
  });

  serverIt("R4/R11: the store holds the token's hash, never the token", async () => {
    const h = harness();
    const { sessions } = makeSessions(h);
    const token = tokenOf(await signedIn(sessions));
    const dump = await h.dump();
    expect(dump).toContain("u1");
    expect(dump).not.toContain(token);
    expect(dump).not.toContain(token.slice(0, 20));
  });

  serverIt("R21: rotate() keeps the data under a new token and the old token loads a fresh session", async () => {
    const { sessions } = makeSessions(harness());
    const { oldCookie, newCookie } = await cartThenLogin(sessions);
    expect(newCookie).not.toBe(oldCookie);
    expect((await sessions.load(oldCookie)).isNew).toBe(true);
    const after = await sessions.load(newCookie);
    expect(after.all()).toMatchObject({ userId: "u1", cart: [{ sku: "a", qty: 1 }] });
  });

  serverIt("rotationGrace: the old token reaches the rotated session until the grace ends", async () => {
    const { sessions, clock } = makeSessions(harness(), { rotationGrace: "10s" });
    const { oldCookie, newCookie } = await cartThenLogin(sessions);

    clock.advance(5);
    const inFlight = await sessions.load(oldCookie);
    expect(inFlight.get("userId")).toBe("u1");
    inFlight.set("theme", "dark");
    expect(await inFlight.commit()).toEqual([]); // it cannot know the new token, so it leaves the cookie alone
    expect((await sessions.load(newCookie)).get("theme")).toBe("dark");
    clock.advance(6);
    expect((await sessions.load(oldCookie)).isNew).toBe(true);
    expect((await sessions.load(newCookie)).get("userId")).toBe("u1");
  });

  serverIt("R24/R17: destroy() deletes the record and clears the cookie with Max-Age=0 and a past Expires", async () => {
    const h = harness();
    const { sessions } = makeSessions(h, { cookie: { name: "app", path: "/shop", domain: "example.com" } });
    const cookie = cookieHeader(await signedIn(sessions));
    const logout = await sessions.load(cookie);
    await logout.destroy();
    const [clear] = await logout.commit();
    expect(clear).toMatch(/^app=;/);
    expect(attribute(clear as string, "Max-Age")).toBe("0");
    expect(new Date(attribute(clear as string, "Expires") as string).getTime()).toBeLessThan(Date.now());
    expect(attribute(clear as string, "Path")).toBe("/shop");
    expect(attribute(clear as string, "Domain")).toBe("example.com");
    expect((await sessions.load(cookie)).isNew).toBe(true);
    expect(await h.count()).toBe(0);
  });

  serverIt(
    "R51: a save after the session was revoked elsewhere throws SessionInterruptedError and the row stays gone",
    async () => {
      const h = harness();
      const { sessions } = makeSessions(h);
      const setCookie = await signedIn(sessions);
      const inFlight = await sessions.load(cookieHeader(setCookie));
      expect(await sessions.revoke({ where: { userId: "u1" } })).toBe(1);
      inFlight.set("theme", "dark");
      await expect(inFlight.save()).rejects.toSatisfy(
        (e) => e instanceof SessionInterruptedError && e.code === "SESSION_INTERRUPTED",
      );
      expect(await h.count()).toBe(0);
    },
  );

  serverIt(
    "R51: a read-only save that finds the session revoked (its touch fails), then a write in the same request (a tRPC batch, two saves): SessionInterruptedError, nothing comes back under the old cookie",
    async () => {
      const h = harness();
      const { sessions, clock } = makeSessions(h, { touchAfter: "1m" });
      const cookie = cookieHeader(await signedIn(sessions));
      clock.advance(120);
      const inFlight = await sessions.load(cookie);
      expect(await sessions.revoke({ where: { userId: "u1" } })).toBe(1);
      expect(await inFlight.commit()).toEqual([]);
      inFlight.set("theme", "dark");
      await expect(inFlight.commit()).rejects.toBeInstanceOf(SessionInterruptedError);
      await expect(inFlight.rotate()).rejects.toBeInstanceOf(SessionInterruptedError);
      expect((await sessions.load(cookie)).isNew).toBe(true);
      expect(await h.count()).toBe(0);
    },
  );

  serverIt("R51: clear() and rotate() of a destroyed session write nothing back", async () => {
    const h = harness();
    const { sessions } = makeSessions(h);
    const token = tokenOf(await signedIn(sessions));
    const a = await sessions.load(`sid=${token}`);
    const b = await sessions.load(`sid=${token}`);
    expect(await sessions.destroy(token)).toBe(true);
    a.clear();
    a.set("theme", "dark");
    await expect(a.save()).rejects.toBeInstanceOf(SessionInterruptedError);
    await expect(b.rotate()).rejects.toBeInstanceOf(SessionInterruptedError);
    expect(await h.count()).toBe(0);
  });
}

/** An anonymous visitor fills a cart, then logs in: `rotate()`, then `userId` is set. */
async function cartThenLogin(sessions: SessionManager<typeof appSchema>) {
  const visit = await sessions.load(undefined);
  visit.set("cart", [{ sku: "a", qty: 1 }]);
  const oldCookie = cookieHeader(await visit.commit());
  const login = await sessions.load(oldCookie);
  await login.rotate();
  login.set("userId", "u1");
  return { oldCookie, newCookie: cookieHeader(await login.commit()) };
}
