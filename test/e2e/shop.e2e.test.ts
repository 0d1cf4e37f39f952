/**
 * The demo shop (examples/shop) end to end: `next build`, `next start` on a free loopback
 * port, and headless Chromium (Debian's, through playwright-core) as two devices of one user.
 *
 * The app runs on what the run has: a fresh database on DATABASE_URL's server (dropped at the
 * end) or, without one, PGlite in memory; with REDIS_URL, a Redis cache under a prefix of its
 * own. "The raw token is never stored" is checked in that database directly when there is a
 * server, and on PGlite (which only the app's process can open) through the app's test-only
 * route, enabled by TESSERA_E2E=1.
 *
 * Screenshots (cart, sessions page) go to test/e2e/__screenshots__/ when they are missing or
 * with UPDATE_SCREENSHOTS=1, so an ordinary run leaves the work tree as it was.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Redis } from "ioredis";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../helpers/databases.js";

const CHROMIUM = "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
const shopDir = path.join(root, "examples", "shop");
const nextBin = path.join(root, "node_modules", "next", "dist", "bin", "next");
const screenshots = path.join(root, "test", "e2e", "__screenshots__");
const COOKIE = "shop_sid";
const BUILD_TIMEOUT = 240_000;

// Two devices of the same user, told apart on the "Your sessions" page by their User-Agent.
const LINUX_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const WINDOWS_UA =
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

/** Runs a command to its end; rejects with its output when it fails. */
function run(label: string, command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout also stops the build's worker processes.
    const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      reject(new Error(`${label} timed out after ${timeoutMs / 1000} s\n${output.slice(-4000)}`));
    }, timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${label} exited with ${code}\n${output.slice(-4000)}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForServer(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`next start exited with ${server.exitCode}\n${log()}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`next start did not answer within 30 s\n${log()}`);
}

/** Stops a process we started, by its pid: SIGTERM, then SIGKILL after 5 s. */
async function stop(child: ChildProcess | undefined): Promise<void> {
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  // Named in the skipped-suites notice by test/helpers/global-setup.ts (a failure under CI=true).
  console.warn(`Skipping the browser e2e test: ${CHROMIUM} is missing (install the Debian package chromium)`);
}

describe.skipIf(!hasChromium).sequential("demo shop in a browser: two devices of one user", () => {
  let base = "";
  let server: ChildProcess | undefined;
  let serverLog = "";
  let browser: Browser | undefined;
  let device1: BrowserContext;
  let device2: BrowserContext;
  let page1: Page;
  let page2: Page;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let sql: postgres.Sql | undefined;
  let redis: Redis | undefined;
  const redisPrefix = `tessera-e2e-${randomUUID().slice(0, 8)}:`;
  /** Device 1's cookie values, in order: anonymous, after login. */
  const tokens: { anonymous?: string | undefined; loggedIn?: string | undefined; device2?: string | undefined } = {};

  beforeAll(async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };
    delete env.NODE_ENV; // vitest sets "test"; next build and next start set their own
    // The build takes the most CPU of the whole test run: at a lower priority, the other suites keep their timings.
    const nice = existsSync("/usr/bin/nice") ? ["/usr/bin/nice", "-n", "10"] : [];
    const [command, ...prefix] = [...nice, process.execPath];
    await run("next build", command!, [...prefix, nextBin, "build", "--webpack", shopDir], env, BUILD_TIMEOUT);

    const serverEnv: NodeJS.ProcessEnv = { ...env, SHOP_PLAIN_HTTP: "1", TESSERA_E2E: "1", SHOP_PGLITE: "memory" };
    if (process.env.DATABASE_URL) {
      database = await createDatabase(process.env.DATABASE_URL);
      serverEnv.DATABASE_URL = database.url;
      sql = postgres(database.url, { max: 1, onnotice: () => {} });
    } else delete serverEnv.DATABASE_URL;
    if (process.env.REDIS_URL) {
      serverEnv.SHOP_REDIS_PREFIX = redisPrefix;
      redis = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: 1 });
    } else delete serverEnv.REDIS_URL;

    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    // `next start` runs in this very process (its title becomes next-server): its pid is the server's.
    server = spawn(process.execPath, [nextBin, "start", shopDir, "--hostname", "127.0.0.1", "--port", String(port)], {
      cwd: root,
      env: serverEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    server.stdout?.on("data", (chunk: Buffer) => {
      serverLog += chunk.toString();
    });
    server.stderr?.on("data", (chunk: Buffer) => {
      serverLog += chunk.toString();
    });
    await waitForServer(base, server, () => serverLog);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
      ],
    });
    device1 = await browser.newContext({ userAgent: LINUX_UA, viewport: { width: 1280, height: 800 } });
    device2 = await browser.newContext({ userAgent: WINDOWS_UA, viewport: { width: 1280, height: 800 } });
    page1 = await device1.newPage();
    page2 = await device2.newPage();
  }, BUILD_TIMEOUT + 60_000);

  afterAll(async () => {
    await browser?.close();
    await stop(server);
    if (redis !== undefined) {
      const keys = await redis.keys(`${redisPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
    await sql?.end({ timeout: 5 });
    await database?.drop();
  }, 30_000);

  /** Navigates and waits until React has hydrated the page (before that, a click would submit natively). */
  async function open(page: Page, pathname: string): Promise<void> {
    await page.goto(`${base}${pathname}`);
    await page.waitForFunction(() => document.documentElement.dataset.ready === "1");
  }

  async function sessionCookie(context: BrowserContext) {
    return (await context.cookies(base)).find((cookie) => cookie.name === COOKIE);
  }

  async function screenshot(page: Page, name: string): Promise<void> {
    const file = path.join(screenshots, name);
    if (existsSync(file) && process.env.UPDATE_SCREENSHOTS !== "1") return;
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: file });
  }

  async function addToCart(page: Page, sku: string, qty: string): Promise<void> {
    await page.getByTestId(`qty-${sku}`).fill(qty);
    await page.getByTestId(`add-${sku}`).click();
  }

  /** Where the raw token and its SHA-256 occur in the sessions table (and in the Redis cache). */
  async function stored(token: string): Promise<{ rows: number; withToken: number; withHash: number }> {
    const hash = createHash("sha256").update(token).digest("hex");
    if (redis !== undefined) {
      for (const key of await redis.keys(`${redisPrefix}*`)) {
        expect(key).not.toContain(token);
        const type = await redis.type(key);
        const values =
          type === "hash" ? Object.values(await redis.hgetall(key)) : type === "string" ? [await redis.get(key)] : [];
        for (const value of values) expect(value ?? "").not.toContain(token);
      }
    }
    const statement = `select count(*)::int as rows,
              count(*) filter (where position($1 in s::text) > 0)::int as with_token,
              count(*) filter (where s.id = $2)::int as with_hash
         from sessions s`;
    if (sql !== undefined) {
      const [row] = await sql.unsafe<{ rows: number; with_token: number; with_hash: number }[]>(statement, [token, hash]);
      return { rows: row!.rows, withToken: row!.with_token, withHash: row!.with_hash };
    }
    // PGlite lives inside the app's process: ask its test-only route (404 without TESSERA_E2E=1).
    const response = await fetch(`${base}/api/e2e/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token }),
    });
    expect(response.status).toBe(200);
    const row = (await response.json()) as { rows: number; with_token: number; with_hash: number };
    return { rows: row.rows, withToken: row.with_token, withHash: row.with_hash };
  }

  it("an anonymous visit reads the defaults and stores nothing", async () => {
    await open(page1, "/");
    await page1.getByRole("heading", { name: "Loose-leaf tea and things to brew it in" }).waitFor();
    expect(await page1.getByTestId("cart").textContent()).toContain("Empty for now.");
    expect(await page1.locator("html").getAttribute("data-theme")).toBe("light");
    expect(await sessionCookie(device1)).toBeUndefined();
  });

  it("adds typed cart items; the session cookie is HttpOnly, SameSite=Lax, Path=/", async () => {
    await addToCart(page1, "tea-01", "2");
    await page1.getByTestId("cart-line-tea-01").waitFor();
    await addToCart(page1, "cup-01", "1");
    await page1.getByTestId("cart-line-cup-01").waitFor();
    await addToCart(page1, "tea-01", "1");
    await page1.waitForFunction(() => document.querySelector('[data-testid="cart-line-tea-01"] strong')?.textContent === "3");
    expect(await page1.getByTestId("cart-total").textContent()).toBe("€54.00");
    expect(await page1.getByTestId("cart-count").textContent()).toContain("4");

    const cookie = await sessionCookie(device1);
    expect(cookie).toBeDefined();
    expect(cookie!.httpOnly).toBe(true);
    expect(cookie!.sameSite).toBe("Lax");
    expect(cookie!.path).toBe("/");
    expect(cookie!.secure).toBe(false); // plain HTTP on 127.0.0.1 (SHOP_PLAIN_HTTP=1); Secure in production
    expect(cookie!.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    tokens.anonymous = cookie!.value;
  });

  it("refuses a bad quantity with the schema's message and keeps the cart as it was", async () => {
    await addToCart(page1, "tea-02", "0");
    expect(await page1.getByTestId("error-tea-02").textContent()).toBe("Quantity must be at least 1");
    await addToCart(page1, "tea-02", "1.5");
    await page1.waitForFunction(
      () => document.querySelector('[data-testid="error-tea-02"]')?.textContent === "Quantity must be a whole number",
    );
    // 3 in the cart + 97 passes 99: the merged line is refused too.
    await addToCart(page1, "tea-01", "97");
    expect(await page1.getByTestId("error-tea-01").textContent()).toBe("Quantity can be at most 99");
    await open(page1, "/");
    expect(await page1.getByTestId("cart-line-tea-02").count()).toBe(0);
    expect(await page1.locator('[data-testid="cart-line-tea-01"] strong').textContent()).toBe("3");
    await addToCart(page1, "tea-02", "150");
    await page1.getByTestId("error-tea-02").waitFor();
    expect(await page1.getByTestId("error-tea-02").textContent()).toBe("Quantity can be at most 99");
    expect((await sessionCookie(device1))?.value).toBe(tokens.anonymous);
    await screenshot(page1, "cart.png");
  });

  it("switches the theme, which persists across a reload", async () => {
    await open(page1, "/");
    await page1.getByTestId("theme-toggle").click();
    await page1.waitForFunction(() => document.documentElement.dataset.theme === "dark");
    await open(page1, "/");
    expect(await page1.locator("html").getAttribute("data-theme")).toBe("dark");
  });

  it("logs in: the session rotates (new cookie value, old token dead), the cart comes along", async () => {
    await open(page1, "/login");
    await page1.getByTestId("username").fill("ada");
    const consumed = page1.waitForResponse((response) => response.url().includes("/api/trpc/flash.consume"));
    await page1.getByTestId("login-submit").click();
    await page1.getByTestId("flash").waitFor();
    expect(await page1.getByTestId("flash").textContent()).toBe("Welcome back, ada");
    expect(await page1.getByTestId("who").textContent()).toBe("Signed in as ada");
    expect(await page1.locator('[data-testid="cart-line-tea-01"] strong').textContent()).toBe("3");
    expect((await consumed).ok()).toBe(true);

    const cookie = await sessionCookie(device1);
    expect(cookie?.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie?.value).not.toBe(tokens.anonymous);
    tokens.loggedIn = cookie!.value;
    // The pre-login token no longer reaches anything (rotationGrace is off).
    const old = await fetch(`${base}/sessions`, { headers: { cookie: `${COOKIE}=${tokens.anonymous}` } });
    expect(await old.text()).toContain("You are not signed in.");
  });

  it("shows the flash message once", async () => {
    await open(page1, "/");
    await page1.getByTestId("cart").waitFor();
    expect(await page1.getByTestId("flash").count()).toBe(0);
    expect(await page1.getByTestId("who").textContent()).toBe("Signed in as ada");
  });

  it("a second device logs in as the same user", async () => {
    await open(page2, "/login");
    await page2.getByTestId("username").fill("ada");
    await page2.getByTestId("login-submit").click();
    await page2.getByTestId("flash").waitFor();
    expect(await page2.getByTestId("flash").textContent()).toBe("Welcome back, ada");
    expect(await page2.locator("html").getAttribute("data-theme")).toBe("light");
    tokens.device2 = (await sessionCookie(device2))?.value;
    expect(tokens.device2).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('"Your sessions" lists both devices, this one marked', async () => {
    await open(page1, "/sessions");
    await page1.getByTestId("devices").waitFor();
    const rows = page1.getByTestId("device-row");
    expect(await rows.count()).toBe(2);
    const current = page1.locator('[data-testid="device-row"][data-current="yes"]');
    const other = page1.locator('[data-testid="device-row"][data-current="no"]');
    expect(await current.textContent()).toContain("Chrome on Linux");
    expect(await current.textContent()).toContain("This device");
    expect(await other.textContent()).toContain("Chrome on Windows");
    expect(await current.locator("button").count()).toBe(0);
    await screenshot(page1, "sessions.png");
  });

  it("revokes the other device from device 1", async () => {
    await page1.locator('[data-testid="device-row"][data-current="no"] button').click();
    await page1.waitForFunction(() => document.querySelectorAll('[data-testid="device-row"]').length === 1);
    expect(await page1.locator('[data-testid="device-row"][data-current="yes"]').count()).toBe(1);
  });

  it("device 2 is logged out on its next request", async () => {
    await open(page2, "/sessions");
    await page2.getByTestId("signed-out").waitFor();
    expect(await page2.getByTestId("login-link").count()).toBe(1);
    expect(await page2.getByTestId("who").count()).toBe(0);
    // Device 1 is untouched.
    await open(page1, "/sessions");
    expect(await page1.getByTestId("who").textContent()).toBe("Signed in as ada");
  });

  it("never stores a raw token: the table holds its SHA-256 only", async () => {
    const live = await stored(tokens.loggedIn!);
    expect(live.rows).toBeGreaterThan(0);
    expect(live.withHash).toBe(1);
    expect(live.withToken).toBe(0);
    const revoked = await stored(tokens.device2!);
    expect(revoked.withHash).toBe(0);
    expect(revoked.withToken).toBe(0);
    expect((await stored(tokens.anonymous!)).withToken).toBe(0);
  });

  it("logs out: the record is deleted and the cookie cleared", async () => {
    await page1.getByTestId("logout").click();
    await page1.getByTestId("login-link").waitFor();
    expect(await sessionCookie(device1)).toBeUndefined();
    expect((await stored(tokens.loggedIn!)).withHash).toBe(0);
    await open(page1, "/sessions");
    await page1.getByTestId("signed-out").waitFor();
  });
});
