/**
 * The demo shop's tRPC endpoint as the app ships it, on one database: the route handler of
 * `examples/shop/app/api/trpc/[trpc]/route.ts` (its router, its context, its session manager)
 * called with real `Request`s. No Next build, so it runs in every `npm test`; the browser test
 * (test/e2e) drives the same code through `next start`.
 *
 * The shop picks its database from DATABASE_URL (examples/shop/lib/database.ts) on its first
 * request, and keeps it for the process: so each database is a test file of its own
 * (shop-routes.test.ts: PGlite in memory; shop-routes-sqlite.test.ts; shop-routes-mysql.test.ts),
 * each calling `shopRoutesSuite` after setting the environment. The shop imports `tesserae` as
 * an installed app does, so its modules load dist/ (built first when older than src/). It runs
 * from its own folder, as `npm start` there does: the database is created by the shop's
 * drizzle-kit migrations for that dialect, in `examples/shop/drizzle/<dialect>/`.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { sessionSchema } from "../../examples/shop/lib/schema.js";
import type { SessionManager } from "../../src/index.js";
import { ensureBuilt } from "../cli/cli.js";

export const shop = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../examples/shop");
const COOKIE = "shop_sid";
const ORIGIN = "http://127.0.0.1:3000";

// Imported by path: the shop's files use the bundler's extensionless imports, which the root
// tsconfig (NodeNext) does not type-check; `npm run typecheck:demo` does.
let POST: (request: Request) => Promise<Response>;
let sessions: SessionManager<typeof sessionSchema>;
let closeDatabase: () => Promise<void>;

/** What the shop's footer says it stores sessions in (`databaseLabel`), for the run's DATABASE_URL. */
export async function shopDatabaseLabel(): Promise<string> {
  const { databaseLabel, shopDatabase } = (await import(path.join(shop, "lib/database.ts"))) as {
    databaseLabel(database: unknown): string;
    shopDatabase(): unknown;
  };
  return databaseLabel(shopDatabase());
}

/**
 * The shop's session routes on the database the environment names: `label` says which. Call it
 * once per file, after setting DATABASE_URL (or SHOP_PGLITE) and before any test runs.
 */
export function shopRoutesSuite(label: string): void {
  const cwd = process.cwd();

  beforeAll(async () => {
    await ensureBuilt();
    process.chdir(shop);
    const routePath = path.join(shop, "app/api/trpc/[trpc]/route.ts");
    const sessionsPath = path.join(shop, "lib/sessions.ts");
    ({ POST } = (await import(routePath)) as { POST: typeof POST });
    const lib = (await import(sessionsPath)) as {
      getSessions(): Promise<typeof sessions>;
      connections(): Promise<{ database: { close(): Promise<void> } }>;
    };
    sessions = await lib.getSessions();
    const { database } = await lib.connections();
    closeDatabase = () => database.close();
  }, 120_000);

  afterAll(async () => {
    process.chdir(cwd);
    // The shop's pool or file handle, so the test's database can be dropped or deleted.
    await closeDatabase?.();
  });

  describe(`the demo shop's tRPC endpoint (its route handler, a real manager on ${label})`, () => {
    it("12.10: the anonymous cart and theme carry into the first login; the token rotates and the old one is dead", async () => {
      const browser = new Browser();
      expect((await browser.call("cart.add", { sku: "tea-01", qty: 2 })).status).toBe(200);
      expect((await browser.call("theme", { theme: "dark" })).status).toBe(200);
      const anonymous = browser.token;
      expect(anonymous).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const login = await browser.call("auth.login", { username: "  carol " });
      expect(login.status).toBe(200);
      expect(browser.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(browser.token).not.toBe(anonymous);

      const session = await browser.session();
      expect(session.isNew).toBe(false);
      expect(session.get("userId")).toBe("carol");
      expect(session.get("cart")).toEqual([{ sku: "tea-01", qty: 2 }]);
      expect(session.get("theme")).toBe("dark");
      expect(session.get("flash")).toBe("Welcome back, carol");
      // The device fields are this login's, written after it.
      expect(session.get("deviceId")).toMatch(/^[0-9a-f-]{36}$/);
      expect(session.get("device")).toBe("Chrome on Linux");
      expect(session.get("lastSeen")).toBeInstanceOf(Date);

      const old = await sessionOf(anonymous);
      expect(old.isNew).toBe(true);
      expect(old.get("cart")).toEqual([]);
    });

    it("12.10: logging in as bob where alice is logged in: bob's cart is empty, nothing of alice's stays, her token is dead", async () => {
      const browser = new Browser();
      expect((await browser.call("auth.login", { username: "alice" })).status).toBe(200);
      expect((await browser.call("cart.add", { sku: "pot-01", qty: 1 })).status).toBe(200);
      expect((await browser.call("theme", { theme: "dark" })).status).toBe(200);
      const alice = browser.token!;
      const aliceDevice = (await browser.session()).get("deviceId");
      expect((await sessions.findMany({ where: { userId: "alice" } })).map((s) => s.data.cart)).toEqual([
        [{ sku: "pot-01", qty: 1 }],
      ]);

      const login = await browser.call("auth.login", { username: "bob" });
      expect(login.status).toBe(200);
      expect(login.body).toEqual({ result: { data: { userId: "bob" } } });
      expect(browser.token).not.toBe(alice);

      const bob = await browser.session();
      expect(bob.get("userId")).toBe("bob");
      expect(bob.get("cart")).toEqual([]);
      expect(bob.get("theme")).toBe("light");
      expect(bob.get("flash")).toBe("Welcome back, bob");
      expect(bob.get("deviceId")).not.toBe(aliceDevice);
      expect(bob.get("device")).toBe("Chrome on Linux");
      // Alice's token reaches nothing, and no session of hers is left in the table.
      expect((await sessionOf(alice)).isNew).toBe(true);
      expect(await sessions.findMany({ where: { userId: "alice" } })).toEqual([]);
      expect((await sessions.findMany({ where: { userId: "bob" } })).map((s) => s.tag)).toEqual([bob.tag]);
    });

    it("12.10: logging in again as the same user keeps the cart and rotates the token", async () => {
      const browser = new Browser();
      await browser.call("auth.login", { username: "dave" });
      await browser.call("cart.add", { sku: "cup-01", qty: 3 });
      const first = browser.token;
      expect((await browser.call("auth.login", { username: "dave" })).status).toBe(200);
      expect(browser.token).not.toBe(first);
      expect((await browser.session()).get("cart")).toEqual([{ sku: "cup-01", qty: 3 }]);
      expect((await sessionOf(first)).isNew).toBe(true);
    });

    it("12.10: a refused name changes nothing: the user, the cart and the token stay", async () => {
      const browser = new Browser();
      await browser.call("auth.login", { username: "erin" });
      await browser.call("cart.add", { sku: "tea-02", qty: 1 });
      const token = browser.token;
      for (const [username, message] of [
        ["   ", "Enter a name"],
        ["x".repeat(33), "Names are at most 32 characters"],
      ] as const) {
        const refused = await browser.call("auth.login", { username });
        expect(refused.status).toBe(400);
        expect(errorMessage(refused.body)).toBe(message);
        expect(browser.token).toBe(token);
      }
      const session = await browser.session();
      expect(session.get("userId")).toBe("erin");
      expect(session.get("cart")).toEqual([{ sku: "tea-02", qty: 1 }]);
    });

    it("12.9: cart.add refuses a bad quantity, or a merged line over 99, with the schema's message and stores nothing of it", async () => {
      const browser = new Browser();
      expect((await browser.call("cart.add", { sku: "tea-01", qty: 3 })).status).toBe(200);
      const before = await browser.session();
      const data = before.all();
      for (const [qty, message] of [
        [0, "Quantity must be at least 1"],
        // Merged into the line of 3 this would be a valid 1: the line as entered is checked first.
        [-2, "Quantity must be at least 1"],
        [1.5, "Quantity must be a whole number"],
        [97, "Quantity can be at most 99"],
        [150, "Quantity can be at most 99"],
      ] as const) {
        const refused = await browser.call("cart.add", { sku: "tea-01", qty });
        expect(refused.status).toBe(400);
        expect(errorMessage(refused.body)).toBe(message);
      }
      const refusedNew = await browser.call("cart.add", { sku: "tea-02", qty: 0 });
      expect(errorMessage(refusedNew.body)).toBe("Quantity must be at least 1");
      const after = await browser.session();
      expect(after.get("cart")).toEqual([{ sku: "tea-01", qty: 3 }]);
      expect(after.all()).toEqual(data);
      // And a good one merges.
      expect((await browser.call("cart.add", { sku: "tea-01", qty: 96 })).body).toEqual({
        result: { data: [{ sku: "tea-01", qty: 99 }] },
      });
    });

    describe("12.4: auth.logout and devices.revokeOthers refuse another origin's POST", () => {
      /** A form post as another page's `<form enctype="multipart/form-data">` sends it (no preflight). */
      function formPost(site: "cross-site" | "same-site", origin: string) {
        const form = new FormData();
        form.set("x", "1");
        return { headers: { origin, "sec-fetch-site": site }, body: form };
      }

      const attacks = [
        ["cross-site", "https://evil.example"],
        ["same-site", "http://evil.127.0.0.1.nip.io:3000"],
      ] as const;

      it.each(attacks)("a %s multipart POST with a valid session cookie is 403 and the sessions stay", async (site, origin) => {
        const laptop = new Browser();
        const phone = new Browser("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36");
        const user = `frank-${site}`;
        await laptop.call("auth.login", { username: user });
        await phone.call("auth.login", { username: user });
        const [laptopToken, phoneToken] = [laptop.token, phone.token];

        for (const procedure of ["auth.logout", "devices.revokeOthers"]) {
          const refused = await laptop.send(procedure, formPost(site, origin));
          expect(refused.status).toBe(403);
          expect((refused.body as { error: { data: { code: string } } }).error.data.code).toBe("FORBIDDEN");
          expect(laptop.token).toBe(laptopToken);
        }
        // The same attack without Sec-Fetch-Site (an older browser): the Origin decides.
        const { body } = formPost(site, origin);
        expect((await laptop.send("auth.logout", { headers: { origin }, body })).status).toBe(403);

        expect((await sessionOf(laptopToken)).get("userId")).toBe(user);
        expect((await sessionOf(phoneToken)).get("userId")).toBe(user);
        expect((await sessions.findMany({ where: { userId: user } })).length).toBe(2);

        // The shop's own page (same origin) still can.
        expect((await laptop.call("devices.revokeOthers")).body).toEqual({ result: { data: { revoked: 1 } } });
        expect((await sessionOf(phoneToken)).isNew).toBe(true);
        expect((await laptop.call("auth.logout")).status).toBe(200);
        expect(laptop.token).toBeUndefined();
        expect((await sessionOf(laptopToken)).isNew).toBe(true);
      });
    });

    it('issue 16.6: login, cart, "Your sessions" lists both devices by the user\'s indexed column, revoke one by its tag, log out', async () => {
      const user = `gina-${label.replace(/\W+/g, "-").toLowerCase()}`;
      const laptop = new Browser();
      const phone = new Browser("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/133.0");
      expect((await laptop.call("auth.login", { username: user })).status).toBe(200);
      expect((await laptop.call("cart.add", { sku: "tea-01", qty: 2 })).body).toEqual({
        result: { data: [{ sku: "tea-01", qty: 2 }] },
      });
      expect((await phone.call("auth.login", { username: user })).status).toBe(200);
      expect((await phone.call("cart.add", { sku: "cup-01", qty: 1 })).status).toBe(200);

      // "Your sessions" as the page lists them: both devices, each with its own cart.
      const listed = await sessions.findMany({ where: { userId: user } });
      expect(listed.map((s) => s.data.device).sort()).toEqual(["Chrome on Linux", "Firefox on Windows"]);
      const laptopTag = (await laptop.session()).tag;
      const phoneTag = (await phone.session()).tag;
      expect(listed.map((s) => s.tag).sort()).toEqual([laptopTag, phoneTag].sort());
      expect(listed.find((s) => s.tag === laptopTag)?.data.cart).toEqual([{ sku: "tea-01", qty: 2 }]);

      // The laptop cannot revoke itself by tag, and revokes the phone by the tag the page showed.
      expect((await laptop.call("devices.revoke", { tag: laptopTag })).status).toBe(400);
      expect((await laptop.call("devices.revoke", { tag: phoneTag })).body).toEqual({ result: { data: { revoked: 1 } } });
      expect((await phone.session()).isNew).toBe(true);
      expect((await laptop.session()).get("cart")).toEqual([{ sku: "tea-01", qty: 2 }]);
      expect((await sessions.findMany({ where: { userId: user } })).map((s) => s.tag)).toEqual([laptopTag]);
      // Revoked twice: already gone.
      expect((await laptop.call("devices.revoke", { tag: phoneTag })).status).toBe(404);

      expect((await laptop.call("auth.logout")).status).toBe(200);
      expect(laptop.token).toBeUndefined();
      expect(await sessions.findMany({ where: { userId: user } })).toEqual([]);
    });
  });
}

/** One browser: its cookie, sent back as a browser would, and replaced by every Set-Cookie. */
class Browser {
  token: string | undefined;
  constructor(private readonly userAgent = "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36") {}

  /** A mutation as the shop's own page sends it: JSON, same origin. */
  async call(procedure: string, input?: unknown): Promise<{ status: number; body: unknown }> {
    return this.send(procedure, {
      headers: { "content-type": "application/json", origin: ORIGIN, "sec-fetch-site": "same-origin" },
      ...(input === undefined ? {} : { body: JSON.stringify(input) }),
    });
  }

  async send(
    procedure: string,
    init: { headers: Record<string, string>; body?: BodyInit },
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { host: "127.0.0.1:3000", "user-agent": this.userAgent, ...init.headers };
    if (this.token !== undefined) headers.cookie = `${COOKIE}=${this.token}`;
    const request = new Request(`${ORIGIN}/api/trpc/${procedure}`, { method: "POST", headers, body: init.body ?? null });
    const response = await POST(request);
    for (const setCookie of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = setCookie.split(";");
      const [name, value = ""] = pair.split("=");
      if (name !== COOKIE) continue;
      const cleared = value === "" || attributes.some((a) => /^\s*max-age=0$/i.test(a));
      this.token = cleared ? undefined : value;
    }
    return { status: response.status, body: await response.json() };
  }

  /** What the store holds for this browser's token (a fresh, new session when it reaches nothing). */
  async session() {
    return sessionOf(this.token);
  }
}

/** The session that `token` reaches, loaded as a page would. */
function sessionOf(token: string | undefined) {
  return sessions.load(new Headers(token === undefined ? {} : { cookie: `${COOKIE}=${token}` }));
}

function errorMessage(body: unknown): string {
  return (body as { error?: { message?: string } }).error?.message ?? JSON.stringify(body);
}
