/**
 * tesserae/next in the real Next server: the fixture app (test/next-app/) built from the packed
 * package and served by `next start`. Run by .ci/next-fixture.mjs (`npm run test:next-app`),
 * which sets NEXT_APP_URL; see docs/adapters.md for what each case means for an app.
 */
import { describe, expect, it } from "vitest";
import { attribute, cookieHeader } from "../helpers/cookies.js";

const base = process.env.NEXT_APP_URL;
if (base === undefined || base === "") throw new Error("NEXT_APP_URL is not set: run `npm run test:next-app`");
const label = process.env.NEXT_APP_LABEL ?? base;

type Init = { method?: string; cookie?: string; headers?: Record<string, string> };
const send = (path: string, { method = "GET", cookie, headers = {} }: Init = {}) =>
  fetch(base + path, {
    method,
    redirect: "manual",
    headers: { ...headers, ...(cookie === undefined ? {} : { Cookie: cookie }) },
  });

/** `name=value` of the Set-Cookie named `name`, or undefined. */
function cookieNamed(response: Response, name: string): string | undefined {
  const setCookie = response.headers.getSetCookie().find((value) => value.startsWith(`${name}=`));
  return setCookie === undefined ? undefined : cookieHeader([setCookie]);
}

const storedSessions = async () => ((await (await send("/api/count")).json()) as { sessions: number }).sessions;
const me = async (cookie: string) =>
  (await (await send("/api/me", { cookie })).json()) as { userId: string | null; visits: number };

/** A session cookie went out under `private, no-store` (decision 1 of issue 12). */
function expectPrivateCookie(response: Response, name = "sid"): string {
  const cookie = cookieNamed(response, name);
  expect(cookie, `a ${name} Set-Cookie on ${response.url}`).toMatch(new RegExp(`^${name}=[\\w-]{43}$`));
  expect(response.headers.get("cache-control")).toBe("private, no-store");
  return cookie as string;
}

describe(`tesserae/next in the real server (${label})`, () => {
  it("12.5: serves a session over HTTP: a Route Handler's Set-Cookie, then the value read back by a Route Handler and by a page", async () => {
    const login = await send("/api/login", { method: "POST" });
    expect(login.status, await login.clone().text()).toBe(200);
    const cookie = expectPrivateCookie(login);
    expect(attribute(login.headers.getSetCookie()[0] ?? "", "HttpOnly")).toBe("");
    expect(await me(cookie)).toMatchObject({ userId: "u1" });
    const page = await send("/session", { cookie });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("user=u1");
    expect(await (await send("/session")).text()).toContain("user=none");
  });

  it("12.2: a first visitor's cookie set in the proxy, then NextResponse.rewrite to a static page: private, no-store, not the page's year-long s-maxage", async () => {
    const response = await send("/ab");
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("static page");
    const cookie = expectPrivateCookie(response);
    expect(response.headers.get("cache-control")).not.toMatch(/s-maxage/);
    expect((await me(cookie)).userId).toBeNull(); // the bucket's session is stored: it reads back
    // The static page itself, with no cookie to send, keeps Next's caching: the fix marks only the rewritten request.
    const alone = await send("/static");
    expect(alone.headers.getSetCookie()).toEqual([]);
    expect(alone.headers.get("cache-control")).toMatch(/^s-maxage=31536000/);
  });

  it("12.2: a first visitor's session created in the proxy, then a rewrite to a dynamic page: the page reads it, the response is private, no-store", async () => {
    const response = await send("/ab-session");
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("user=none bucket=b");
    const cookie = expectPrivateCookie(response);
    expect(await (await send("/session", { cookie })).text()).toContain("user=none bucket=b");
  });

  it("12.2: an existing user's due refresh in the proxy, then a rewrite to the static page: the same token under private, no-store", async () => {
    const first = await send("/rolling/static?visit");
    const cookie = expectPrivateCookie(first, "rsid");
    for (let i = 0; i < 2; i++) {
      const refreshed = await send("/rolling/static", { cookie });
      expect(await refreshed.text()).toContain("static page");
      expect(expectPrivateCookie(refreshed, "rsid")).toBe(cookie);
    }
  });

  it("12.2: the proxy's cookie on a static page passed on with NextResponse.next(), on GET, HEAD and a 304", async () => {
    const etag = (await send("/static")).headers.get("etag") as string;
    expect(etag).toBeTruthy();
    // `?visit`: the proxy counts a visit, which for a first visitor is a new session, so a new cookie.
    const get = await send("/static?visit");
    expect(await get.text()).toContain("static page");
    const cookie = expectPrivateCookie(get);
    const head = await send("/static?visit", { method: "HEAD" });
    expect(head.status).toBe(200);
    expectPrivateCookie(head);
    const notModified = await send("/static?visit", { headers: { "If-None-Match": etag } });
    expect(notModified.status).toBe(304);
    expectPrivateCookie(notModified);
    // A data change to a stored session needs no cookie: nothing to keep out of caches, Next's header stays.
    const counted = await send("/static?visit", { cookie });
    expect(counted.headers.getSetCookie()).toEqual([]);
    expect(counted.headers.get("cache-control")).toMatch(/^s-maxage=/);
    expect((await me(cookie)).visits).toBe(2);
  });

  it("12.2: a redirect from the proxy carrying a cookie: private, no-store", async () => {
    const response = await send("/ab-redirect");
    expect(response.status).toBe(307);
    expect(response.headers.get("location")).toMatch(/\/static$/);
    expectPrivateCookie(response);
  });

  it("12.2: a Route Handler answering with a fetch() passthrough (public, max-age=600, immutable headers): private, no-store with the cookie", async () => {
    const response = await send("/api/passthrough");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("from upstream");
    const cookie = expectPrivateCookie(response);
    expect(await me(cookie)).toMatchObject({ userId: "passthrough" });
    const upstream = await send("/api/upstream"); // the upstream alone keeps its caching
    expect(upstream.headers.get("cache-control")).toBe("public, max-age=600");
  });

  it("12.2: two Set-Cookies, the app's and the session's, both go out; HEAD and a Route Handler's 304 carry the cookie under private, no-store", async () => {
    const both = await send("/api/two-cookies");
    expect(cookieNamed(both, "theme")).toBe("theme=dark");
    const cookie = expectPrivateCookie(both);
    expect(both.headers.getSetCookie()).toHaveLength(2);
    expect(await me(cookie)).toMatchObject({ userId: "u2" });
    const head = await send("/api/login", { method: "HEAD" });
    expect(await head.text()).toBe("");
    expectPrivateCookie(head);
    const notModified = await send("/api/not-modified");
    expect(notModified.status).toBe(304);
    expectPrivateCookie(notModified);
  });

  it("12.2 (limit): Next replaces Vary on page responses, so a page that read the session has no Vary: Cookie; Next's own private, no-store keeps it out of shared caches. Route Handlers keep Vary: Cookie", async () => {
    const cookie = cookieNamed(await send("/api/login", { method: "POST" }), "sid") as string;
    const page = await send("/session", { cookie });
    expect(page.headers.get("vary")).not.toMatch(/\bCookie\b/i);
    expect(page.headers.get("cache-control")).toMatch(/\bprivate\b.*\bno-store\b/);
    const rewritten = await send("/ab");
    expect(rewritten.headers.get("vary")).not.toMatch(/\bCookie\b/i);
    expect(rewritten.headers.get("cache-control")).toBe("private, no-store");
    const route = await send("/api/me", { cookie });
    expect(route.headers.get("vary")).toMatch(/\bCookie\b/);
  });

  it("12.3: a streamed body that writes and saves after the response started gets SessionUsageError: no cookie, no orphan row", async () => {
    const before = await storedSessions();
    const response = await send("/api/stream");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("started\nset: SESSION_USAGE\nsaved: false\n");
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await storedSessions()).toBe(before);
  });

  it("12.3: a write made before the return and saved only in the stream went out with the response", async () => {
    const response = await send("/api/stream-save");
    expect(await response.text()).toBe("saved: false\n");
    const cookie = expectPrivateCookie(response);
    expect(await me(cookie)).toMatchObject({ userId: "before-stream" });
  });

  it("12.8: a plain Response from the proxy's response option carries the cookie (not a 500)", async () => {
    const response = await send("/plain");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("answered by the proxy");
    const cookie = expectPrivateCookie(response);
    expect((await me(cookie)).visits).toBe(1);
  });

  it("12.9: a Route Handler that writes then throws commits nothing: a 500, no Set-Cookie, the stored user unchanged, no new row", async () => {
    const cookie = cookieNamed(await send("/api/login", { method: "POST" }), "sid") as string;
    const failed = await send("/api/write-throw", { method: "POST", cookie });
    expect(failed.status).toBe(500);
    expect(failed.headers.getSetCookie()).toEqual([]);
    expect(await me(cookie)).toMatchObject({ userId: "u1" });
    const before = await storedSessions();
    const fresh = await send("/api/write-throw", { method: "POST" });
    expect(fresh.status).toBe(500);
    expect(fresh.headers.getSetCookie()).toEqual([]);
    expect(await storedSessions()).toBe(before);
  });

  it("12.4: a cross-site POST is refused 403 before the session loads; a same-origin one passes", async () => {
    const before = await storedSessions();
    for (const headers of [
      { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" },
      { Origin: "https://evil.example" },
      { Origin: "null" },
    ]) {
      const refused = await send("/api/login", { method: "POST", headers });
      expect(refused.status, JSON.stringify(headers)).toBe(403);
      expect(await refused.text()).toBe("Forbidden");
      expect(refused.headers.getSetCookie()).toEqual([]);
    }
    expect(await storedSessions()).toBe(before);
    const same = await send("/api/login", { method: "POST", headers: { Origin: base, "Sec-Fetch-Site": "same-origin" } });
    expect(same.status).toBe(200);
    expectPrivateCookie(same);
  });
});
