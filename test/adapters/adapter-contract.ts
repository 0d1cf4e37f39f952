import { expect, it } from "vitest";
import { defineSession, type SessionKey, type SessionManager, type SessionSchema } from "../../src/index.js";
import { attribute, cookieHeader } from "../helpers/cookies.js";
import { openPglite } from "../helpers/databases.js";

/**
 * The HTTP behaviour every adapter shares, run against each framework's test app. The app
 * serves: `/login` (sets userId "u1"), `/cart` (sets a cart), `/rotate`, `/logout` (destroy),
 * `/vary` (answers with its own `Vary: Accept-Encoding` and `Cache-Control: private`) and
 * `/me` (JSON `{ userId, cart }`).
 */
export function adapterContract(url: () => string): void {
  const get = (path: string, cookie?: string) =>
    fetch(url() + path, { redirect: "manual", headers: cookie === undefined ? {} : { Cookie: cookie } });
  const login = async () => cookieHeader((await get("/login")).headers.getSetCookie());

  it("sets a value and reads it back with the returned cookie", async () => {
    const cookie = await login();
    const cart = await get("/cart", cookie);
    expect(cart.headers.getSetCookie()).toEqual([]); // a data write to a stored session needs no new cookie
    expect(await (await get("/me", cookie)).json()).toEqual({ userId: "u1", cart: [{ sku: "a", qty: 2 }] });
  });

  it("R12/R13: the Set-Cookie carries HttpOnly, Secure, SameSite=Lax and Path=/", async () => {
    const [setCookie = ""] = (await get("/login")).headers.getSetCookie();
    expect(attribute(setCookie, "HttpOnly")).toBe("");
    expect(attribute(setCookie, "Secure")).toBe("");
    expect(attribute(setCookie, "SameSite")).toBe("Lax");
    expect(attribute(setCookie, "Path")).toBe("/");
    expect(attribute(setCookie, "Domain")).toBeUndefined();
  });

  it("R18: Cache-Control: no-store with a cookie, Vary: Cookie on every response, the handler's Vary kept", async () => {
    const first = await get("/login");
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    expect(first.headers.get("Vary")).toBe("Cookie");
    const read = await get("/me", cookieHeader(first.headers.getSetCookie()));
    expect(read.headers.getSetCookie()).toEqual([]);
    expect(read.headers.get("Cache-Control")).toBeNull();
    expect(read.headers.get("Vary")).toBe("Cookie");
    const vary = await get("/vary");
    expect(vary.headers.get("Vary")).toBe("Accept-Encoding, Cookie");
    expect(vary.headers.get("Cache-Control")).toBe("private");
  });

  it("R21: rotate gives a new cookie with the same data, and the old cookie loads a fresh session", async () => {
    const old = await login();
    const rotated = await get("/rotate", old);
    const fresh = cookieHeader(rotated.headers.getSetCookie());
    expect(fresh).not.toBe(old);
    expect(rotated.headers.get("Cache-Control")).toBe("no-store");
    expect(await (await get("/me", fresh)).json()).toMatchObject({ userId: "u1" });
    expect(await (await get("/me", old)).json()).toMatchObject({ userId: null });
  });

  it("R17/R24: destroy clears the cookie and the old cookie then gives a fresh session", async () => {
    const cookie = await login();
    const [cleared = ""] = (await get("/logout", cookie)).headers.getSetCookie();
    expect(cookieHeader([cleared])).toBe("sid=");
    expect(attribute(cleared, "Max-Age")).toBe("0");
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: null });
  });

  it("R6/R38: a malformed or unknown cookie is a fresh session, not an error, and is not echoed", async () => {
    for (const cookie of ["sid=%%%garbage", `sid=${"A".repeat(43)}`, "sid="]) {
      const response = await get("/me", cookie);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ userId: null, cart: [] });
      expect(response.headers.getSetCookie()).toEqual([]);
    }
  });
}

/** A manager whose store is gone: Drizzle on a PGlite closed after one session was saved, and that session's cookie. */
export async function closedStore<S extends SessionSchema>(schema: S): Promise<{ sessions: SessionManager<S>; cookie: string }> {
  const database = await openPglite();
  const sessions = defineSession({ schema, store: database.store, storeTimeout: 0.5 });
  const session = await sessions.load(undefined);
  session.set("userId" as SessionKey<S>, "u1" as never);
  const cookie = cookieHeader(await session.commit());
  await database.close();
  return { sessions, cookie };
}

/** R48/R49: a failed load (`/me` with the cookie) and a failed save (`/login`) are plain 503s without a cookie. */
export async function expectStoreDown(url: string, cookie: string): Promise<void> {
  const load = await fetch(`${url}/me`, { headers: { Cookie: cookie } });
  const save = await fetch(`${url}/login`);
  for (const response of [load, save]) {
    expect(response.status).toBe(503);
    const body = await response.text();
    expect(body).toBe("Service Unavailable");
    expect(body).not.toMatch(/\bat\s|Error/);
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(response.headers.get("Vary")).toBe("Cookie");
    expect(response.headers.get("Cache-Control")).toBe("no-store");
  }
}
