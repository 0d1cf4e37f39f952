import { expect, it } from "vitest";
import { SessionValidationError } from "../../../src/index.js";
import { cookieHeader } from "../../helpers/cookies.js";
import { type ContractScope, follow, makeSessions, type StoreHarness, serverOnly, signedIn } from "./setup.js";

/**
 * Issue 12.9/12.10: `discard()` drops what a request changed but did not save (the rule for a
 * request that ends in an error), and `login()` never hands one user's data to the next.
 */
/** Store calls that write. */
const writes = (calls: Record<string, number>) =>
  ["create", "patch", "replace", "touch", "rotate", "delete"].reduce((sum, method) => sum + (calls[method] ?? 0), 0);

export function discardContract(harness: () => StoreHarness, scope: ContractScope): void {
  const serverIt = serverOnly(scope);

  it("issue 12.9: discard() after set, delete, clear and setExpiry leaves the session as stored: the next commit writes nothing", async () => {
    const { sessions, calls, resetCalls } = makeSessions(harness());
    const cookie = cookieHeader(await signedIn(sessions));
    const session = await sessions.load(cookie);
    session.set("cart", [{ sku: "a", qty: 1 }]);
    session.delete("userId");
    session.setExpiry({ days: 300 });
    session.clear();
    session.set("theme", "dark");
    session.discard();
    expect(session.isModified).toBe(false);
    expect(session.all()).toMatchObject({ userId: "u1", cart: [], theme: "light" });
    resetCalls();
    expect(await session.commit()).toEqual([]);
    expect(writes(calls)).toBe(0);
    const loaded = await sessions.load(cookie);
    expect(loaded.all()).toMatchObject({ userId: "u1", cart: [], theme: "light" });
  });

  it("issue 12.9: discard(key) drops that key's unsaved change only; the others are saved", async () => {
    const { sessions } = makeSessions(harness());
    const cookie = cookieHeader(await signedIn(sessions));
    const session = await sessions.load(cookie);
    session.set("cart", [{ sku: "a", qty: 1 }]);
    session.set("userId", "admin"); // the privilege write of a procedure whose check then failed
    session.discard("userId");
    expect(session.get("userId")).toBe("u1");
    const loaded = await sessions.load(follow(cookie, await session.commit()));
    expect(loaded.get("userId")).toBe("u1");
    expect(loaded.get("cart")).toEqual([{ sku: "a", qty: 1 }]);
  });

  it("issue 12.9: discard() on a new session leaves nothing to store and no cookie", async () => {
    const { sessions, calls } = makeSessions(harness());
    const session = await sessions.load(undefined);
    session.set("userId", "admin");
    session.discard();
    expect(session.has("userId")).toBe(false);
    expect(await session.commit()).toEqual([]);
    expect(writes(calls)).toBe(0);
  });

  serverIt("issue 12.9: discard() goes back to the last save, not to the load, and never undoes a rotate()", async () => {
    const { sessions } = makeSessions(harness());
    const cookie = cookieHeader(await signedIn(sessions));
    const session = await sessions.load(cookie);
    session.set("cart", [{ sku: "saved", qty: 1 }]);
    await session.rotate(); // stores the cart under the new token
    session.set("cart", [{ sku: "unsaved", qty: 1 }]);
    session.set("theme", "dark");
    session.discard();
    const sent = await session.commit();
    expect(sent).toHaveLength(1); // the rotation's cookie still goes out
    const loaded = await sessions.load(cookieHeader(sent));
    expect(loaded.get("cart")).toEqual([{ sku: "saved", qty: 1 }]);
    expect(loaded.get("theme")).toBe("light");
    expect((await sessions.load(cookie)).isNew).toBe(true);
  });

  it("issue 12.10: login() as another user clears the previous user's data and rotates; the old token is dead", async () => {
    const { sessions } = makeSessions(harness());
    const first = await sessions.load(undefined);
    await first.login("userId", "alice");
    first.set("cart", [{ sku: "alice's", qty: 1 }]);
    first.set("theme", "dark");
    const alice = cookieHeader(await first.commit());

    const session = await sessions.load(alice);
    await session.login("userId", "bob");
    const bob = cookieHeader(await session.commit());
    expect(bob).not.toBe(alice);
    const loaded = await sessions.load(bob);
    expect(loaded.all()).toMatchObject({ userId: "bob", cart: [], theme: "light" });
    if (!scope.clientSide) expect((await sessions.load(alice)).isNew).toBe(true);
  });

  it("issue 12.10: login() from an anonymous session keeps its cart; the same user again only rotates", async () => {
    const { sessions } = makeSessions(harness());
    const anonymous = await sessions.load(undefined);
    anonymous.set("cart", [{ sku: "before login", qty: 2 }]);
    const cookie = cookieHeader(await anonymous.commit());
    const session = await sessions.load(cookie);
    await session.login("userId", "carol");
    const carol = cookieHeader(await session.commit());
    expect((await sessions.load(carol)).all()).toMatchObject({ userId: "carol", cart: [{ sku: "before login", qty: 2 }] });
    const again = await sessions.load(carol);
    await again.login("userId", "carol");
    const rotated = cookieHeader(await again.commit());
    expect(rotated).not.toBe(carol);
    expect((await sessions.load(rotated)).get("cart")).toEqual([{ sku: "before login", qty: 2 }]);
  });

  it("issue 12.10: login() with an identity the schema refuses changes nothing and rotates nothing", async () => {
    const { sessions } = makeSessions(harness());
    const cookie = cookieHeader(await signedIn(sessions));
    const session = await sessions.load(cookie);
    session.set("cart", [{ sku: "kept", qty: 1 }]);
    await expect(session.login("userId", 42 as unknown as string)).rejects.toBeInstanceOf(SessionValidationError);
    expect(session.all()).toMatchObject({ userId: "u1", cart: [{ sku: "kept", qty: 1 }] });
    const sent = await session.commit();
    expect(sent).toEqual(scope.clientSide ? sent : []); // a data write: no new cookie for a server-side session
    expect((await sessions.load(follow(cookie, sent))).get("userId")).toBe("u1");
  });
}
