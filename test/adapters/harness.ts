import { afterAll, beforeAll, expect, it } from "vitest";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";
import { listen } from "../helpers/listen.js";
import { rawRequest } from "../helpers/raw-http.js";
import { type ContractSessions, closedStore, contractSchema, expectStoreDown } from "./adapter-contract.js";

/**
 * What the Express, Hono and fetch adapter tests share beyond the scenario of adapter-contract.ts:
 * their HTTP client, the cacheable upstream, the csrf option table, the raw-HTTP refusals and the
 * store-down tests. Every app here is built on `contractSchema`.
 */

/** A server listening on 127.0.0.1. */
export type Served = { url: string; close(): Promise<void> };

/** Runs `use` against `server`, then closes it whatever happened. */
export async function withServer<T>(server: Served | Promise<Served>, use: (url: string) => Promise<T>): Promise<T> {
  const served = await server;
  try {
    return await use(served.url);
  } finally {
    await served.close();
  }
}

/**
 * `get(path, cookie?)` on the server at `url()` (redirects not followed), `login()`: the cookie
 * `/login` sets (userId "u1"), `expectUncommitted(response, cookie)` (12.9): `response` has no
 * Set-Cookie and the session behind `cookie` still holds userId "u1", and `expectFailsUncommitted(path,
 * status)`: `path` requested by a user who just logged in answers `status` and commits nothing.
 */
export function httpClient(url: () => string) {
  const get = (path: string, cookie?: string) =>
    fetch(url() + path, { redirect: "manual", headers: cookie === undefined ? {} : { Cookie: cookie } });
  const login = async () => cookieHeader((await get("/login")).headers.getSetCookie());
  const expectUncommitted = async (response: Response, cookie: string) => {
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(await (await get("/me", cookie)).json()).toMatchObject({ userId: "u1" });
  };
  const expectFailsUncommitted = async (path: string, status: number) => {
    const cookie = await login();
    const response = await get(path, cookie);
    expect(response.status).toBe(status);
    await expectUncommitted(response, cookie);
    return response;
  };
  return { get, login, expectUncommitted, expectFailsUncommitted };
}

/**
 * An upstream whose answers a shared cache may keep for ten minutes, for the fetch() passthrough,
 * served for the file's tests. Returns its URL (known once the tests run).
 */
export function cacheableUpstream(): () => string {
  let upstream: Served;
  beforeAll(async () => {
    upstream = await listen(() => new Response("upstream", { headers: { "Cache-Control": "public, max-age=600" } }));
  });
  afterAll(() => upstream.close());
  return () => upstream.url;
}

/** The csrf options every adapter takes (`undefined`: the default, the check on). */
export type CsrfOptions = undefined | { csrf: false } | { csrf: { trustedOrigins: readonly string[] } };

/** The app `expectCsrfOptions` sends its POST to; `close` when it was served for the one POST. */
export interface CsrfTarget {
  post(headers: Record<string, string>): Promise<Response>;
  close?(): Promise<void>;
}

/**
 * 12.4: a POST to `/login` carrying a stored session's cookie, `Origin: https://admin.example` and
 * `Sec-Fetch-Site: <secFetchSite>`, sent to the app `serve` builds with each csrf option: refused by
 * default and when only `refusedTrustedOrigin` is trusted (403 "Forbidden", no Set-Cookie,
 * no-store, the store neither read nor written); passed with `csrf: false` and with the origin
 * trusted. Returns the manager and the cookie, for what the test checks next.
 */
export async function expectCsrfOptions(
  { secFetchSite, refusedTrustedOrigin }: { secFetchSite: "cross-site" | "same-site"; refusedTrustedOrigin: string },
  serve: (sessions: ContractSessions, options: CsrfOptions) => CsrfTarget | Promise<CsrfTarget>,
): Promise<{ sessions: ContractSessions; cookie: string }> {
  const counted = countingStore(memoryStore());
  const sessions = defineSession({ schema: contractSchema, store: counted.store });
  const first = await sessions.load(undefined);
  first.set("userId", "u1");
  const cookie = cookieHeader(await first.commit());
  const cross = { Cookie: cookie, Origin: "https://admin.example", "Sec-Fetch-Site": secFetchSite };
  for (const [options, status] of [
    [undefined, 403],
    [{ csrf: false }, 200],
    [{ csrf: { trustedOrigins: ["https://admin.example"] } }, 200],
    [{ csrf: { trustedOrigins: [refusedTrustedOrigin] } }, 403],
  ] as const) {
    const target = await serve(sessions, options);
    counted.reset();
    try {
      const response = await target.post(cross);
      expect({ options, status: response.status }).toEqual({ options, status });
      if (status === 403) {
        expect(await response.text()).toBe("Forbidden");
        expect(response.headers.getSetCookie()).toEqual([]);
        expect(response.headers.get("Cache-Control")).toBe("no-store");
        expect({ get: counted.calls.get, writes: writes(counted.calls) }).toEqual({ get: 0, writes: 0 });
      }
    } finally {
      await target.close?.();
    }
  }
  return { sessions, cookie };
}

/** The status of `method` on `url`'s `/me` sent from another site (`Origin` and `Sec-Fetch-Site: cross-site`). */
export async function crossSiteStatus(url: string, method: string): Promise<number> {
  const cross = { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" };
  return (await fetch(`${url}/me`, { method, headers: cross })).status;
}

/** A raw HTTP/1.1 `POST /me` to `url` with its own Host and the given header lines (duplicates allowed). */
export function rawPost(url: string) {
  const host = new URL(url).host;
  return (...headers: string[]) => rawRequest(url, "POST /me HTTP/1.1", [`Host: ${host}`, ...headers]);
}

/**
 * 12.4 attacked over raw HTTP, what every adapter refuses: a same-origin POST to `/me` passes the
 * check (404: no POST route), but a second Origin, a second Sec-Fetch-Site or a 10 KB Origin is a 403.
 */
export async function expectRawCrossSiteRefused(url: string): Promise<void> {
  const post = rawPost(url);
  expect((await post(`Origin: ${url}`)).status).toBe(404);
  expect((await post(`Origin: ${url}`, "Origin: https://evil.example")).status).toBe(403);
  expect((await post("Sec-Fetch-Site: same-origin", "Sec-Fetch-Site: cross-site")).status).toBe(403);
  expect((await post(`Origin: http://${"a".repeat(10 * 1024)}.example`)).status).toBe(403);
}

/**
 * For a "when the store is down" describe: the R48/R49 test on the app `serve` builds over a
 * manager whose store is gone (`more` checks further on that server). Returns that manager and a
 * cookie of a session it had saved, there once the tests run.
 */
export function storeDownTests(
  serve: (sessions: ContractSessions) => Promise<Served>,
  more?: (url: string) => Promise<void>,
): () => { sessions: ContractSessions; cookie: string } {
  let down: { sessions: ContractSessions; cookie: string };
  beforeAll(async () => {
    down = await closedStore(contractSchema);
  });

  it("R48/R49: a failed load or save gives a 503 with no stack trace and no Set-Cookie", async () => {
    await withServer(serve(down.sessions), async (url) => {
      await expectStoreDown(url, down.cookie);
      await more?.(url);
    });
  });

  return () => down;
}

/** The answer of an `onStoreError` that replies `503 { code }`: the store's error code, with Vary: Cookie. */
export async function expectOnStoreErrorAnswer(response: Response): Promise<void> {
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ code: "STORE_UNAVAILABLE" });
  expect(response.headers.get("Vary")).toBe("Cookie");
}
