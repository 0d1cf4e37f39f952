/**
 * The README's commands, run as written (issue 11, A2): the lines of its first code block,
 * read from README.md itself, so that CI checks what a newcomer types.
 *
 * - `npm install && npm run demo`: started on a free loopback port (`PORT`, which the README
 *   says changes it), in its own process group, with no DATABASE_URL, REDIS_URL or SHOP_*
 *   variables (the embedded PGlite on disk, as on a fresh clone). Two concurrent first
 *   requests, then one session round trip over HTTP through the app's real endpoints: tRPC
 *   mutations set the cookie (its name read from Set-Cookie), a page fetched with that
 *   cookie shows the stored cart and theme, one without it shows the defaults. The whole
 *   process group is stopped by its id and nothing may be left in it or on the port. A second
 *   start (`npm run demo:start`, the same build) on the now existing data folder must still
 *   show the session.
 * - `DATABASE_URL=file:shop.db npm run demo`: the same build started on a SQLite file in a
 *   temporary folder, one session round trip, the footer naming SQLite (`sqliteStart`).
 * - `npm run demo:cli`: runs to its end, and its output shows every step of the walk-through.
 * - `npm test` is not run here: `.ci/run` runs it just before.
 *
 * Usage: `env -u DATABASE_URL -u REDIS_URL node .ci/readme-commands.mjs` from the repository.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { accepts, freePort, sleep, spawnGroup, stopGroup } from "./lib/processes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SERVE_TIMEOUT = 600_000; // npm install + next build on a slow runner
const REQUEST_TIMEOUT = 30_000;
const CLI_TIMEOUT = 180_000;

function fail(message) {
  throw new Error(`readme-commands: ${message}`);
}

function log(message) {
  console.log(`readme-commands: ${message}`);
}

/** The README's quick-start commands: the first fenced block's lines, comments removed. */
function readmeCommands() {
  const readme = readFileSync(path.join(root, "README.md"), "utf8");
  const block = /^```[^\n]*\n([\s\S]*?)^```/m.exec(readme);
  if (block === null) fail("README.md has no code block");
  const commands = block[1]
    .split("\n")
    .map((line) => line.replace(/\s+#.*$/, "").trim())
    .filter((line) => line !== "");
  const demo = commands.find((line) => /\bnpm run demo(?![:\w-])/.test(line));
  const cli = commands.find((line) => /\bnpm run demo:cli\b/.test(line));
  if (demo === undefined || cli === undefined)
    fail(`README's first code block lacks the demo commands: ${JSON.stringify(commands)}`);
  // .ci/run names the commands too, so that both it and the README say what CI runs: they must agree.
  const [named, namedCli] = process.argv.slice(2);
  if (named !== undefined && (named !== demo || namedCli !== cli))
    fail(`.ci/run names ${JSON.stringify([named, namedCli])}, the README says ${JSON.stringify([demo, cli])}`);
  return { demo, cli };
}

/** The environment of a newcomer's shell: no database, no Redis, no shop settings. */
function newcomerEnv(extra) {
  const env = { ...process.env, ...extra };
  for (const name of Object.keys(env)) {
    if (name === "DATABASE_URL" || name === "REDIS_URL" || name.startsWith("SHOP_")) {
      log(`${name} is set here; the README's commands run without it`);
      delete env[name];
    }
  }
  return env;
}

/** Starts `command` through sh in a process group of its own; its output is echoed with a prefix and kept. */
function start(label, command, env) {
  const state = spawnGroup("sh", ["-c", command], { cwd: root, env }, (text) => {
    for (const line of text.split("\n")) if (line !== "") console.log(`  ${label}| ${line}`);
  });
  log(`${label}: started \`${command}\` (pid ${state.child.pid}, its own process group)`);
  return state;
}

/** Stops the whole process group (npm, sh, next and next's children): TERM, then KILL after 15 s. */
async function stop(label, state, port) {
  const pgid = state.child.pid;
  if (!(await stopGroup(pgid, 15_000, (message) => log(`${label}: ${message}`))))
    fail(`${label}: process group ${pgid} survived SIGKILL`);
  if (port !== undefined && (await accepts(port))) fail(`${label}: something still listens on 127.0.0.1:${port}`);
  log(`${label}: stopped; nothing left in process group ${pgid}${port === undefined ? "" : ` or on port ${port}`}`);
}

/** Waits until the port accepts connections (no HTTP request: the first ones are the test's). */
async function waitForPort(label, state, port) {
  const deadline = Date.now() + SERVE_TIMEOUT;
  while (Date.now() < deadline) {
    if (state.exit !== undefined) fail(`${label} exited (${JSON.stringify(state.exit)}) before serving`);
    if (await accepts(port)) return;
    await sleep(250);
  }
  fail(`${label} did not listen on 127.0.0.1:${port} within ${SERVE_TIMEOUT / 1000} s`);
}

async function request(base, pathname, { cookie, json } = {}) {
  const headers = { "user-agent": "tessera-ci-readme-commands" };
  if (cookie !== undefined) headers.cookie = cookie;
  if (json !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(new URL(pathname, base), {
    method: json === undefined ? "GET" : "POST",
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
    redirect: "manual",
    signal: AbortSignal.timeout(REQUEST_TIMEOUT),
  });
  const body = await response.text();
  return { status: response.status, setCookies: response.headers.getSetCookie(), body };
}

function expectStatus(what, response, status) {
  if (response.status !== status) fail(`${what}: HTTP ${response.status}, expected ${status}\n${response.body.slice(0, 2000)}`);
}

/** What a shop page shows of the session: theme, cart count, cart lines, and the store. */
function shown(html) {
  return {
    theme: /<html[^>]*data-theme="(\w+)"/.exec(html)?.[1],
    items: Number(/data-testid="cart-count"[^>]*>Cart · (?:<!-- -->)?(\d+)/.exec(html)?.[1]),
    teaLine: html.includes('data-testid="cart-line-tea-01"'),
    embedded: html.includes("embedded PGlite"),
    sqlite: html.includes("SQLite (libSQL)"),
  };
}

function expectShown(what, html, expected) {
  const actual = shown(html);
  for (const [key, value] of Object.entries(expected)) {
    if (actual[key] !== value) fail(`${what}: the page shows ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
  log(`${what}: ${JSON.stringify(actual)}`);
}

/** The session cookie's `name=value` from Set-Cookie headers (whatever the app names it). */
function sessionCookie(what, setCookies, previous) {
  const pair = setCookies[0]?.split(";")[0];
  if (pair === undefined) {
    if (previous === undefined) fail(`${what}: no Set-Cookie`);
    return previous;
  }
  const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
  if (name === "" || value === "") fail(`${what}: Set-Cookie without a session: ${setCookies[0]}`);
  if (previous !== undefined && !previous.startsWith(`${name}=`)) fail(`${what}: a second cookie name ${name} after ${previous}`);
  log(`${what}: Set-Cookie ${name}=${value.slice(0, 8)}…${setCookies[0].slice(pair.length)}`);
  return pair;
}

async function demo(command) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The shop runs from its own folder (`npm run demo:start` is its `npm start`): PGlite goes
  // under that working directory.
  const dataDir = path.join(root, "examples", "shop", ".tessera-demo", "shop");
  log(`demo: data folder ${dataDir} ${existsSync(dataDir) ? "exists already" : "does not exist yet (a fresh clone)"}`);
  const server = start("demo", command, newcomerEnv({ PORT: String(port) }));
  let cookie;
  try {
    await waitForPort("demo", server, port);
    log(`demo: listening on ${base} (PORT=${port})`);

    // The first two requests at once, on a data folder that may be new: both served.
    const [first, second] = await Promise.all([request(base, "/"), request(base, "/")]);
    expectStatus("first request", first, 200);
    expectStatus("concurrent first request", second, 200);
    expectShown("anonymous visit", first.body, { theme: "light", items: 0, teaLine: false, embedded: true });
    if (!existsSync(dataDir)) fail(`the demo serves but ${dataDir} was not created`);
    const mode = statSync(dataDir).mode & 0o777;
    log(`demo: data folder ${dataDir}, mode ${mode.toString(8)}`);

    // The app's real endpoints: the tRPC mutations the page's buttons call.
    const added = await request(base, "/api/trpc/cart.add", { json: { sku: "tea-01", qty: 2 } });
    expectStatus("cart.add", added, 200);
    if (!added.body.includes('"tea-01"')) fail(`cart.add answered ${added.body}`);
    cookie = sessionCookie("cart.add", added.setCookies, undefined);
    const themed = await request(base, "/api/trpc/theme", { cookie, json: { theme: "dark" } });
    expectStatus("theme", themed, 200);
    cookie = sessionCookie("theme", themed.setCookies, cookie);

    const page = await request(base, "/", { cookie });
    expectStatus("page with the cookie", page, 200);
    expectShown("page with the cookie", page.body, { theme: "dark", items: 2, teaLine: true });
    const stranger = await request(base, "/");
    expectStatus("page without a cookie", stranger, 200);
    expectShown("page without a cookie", stranger.body, { theme: "light", items: 0, teaLine: false });
  } catch (error) {
    await stop("demo", server, port);
    throw error;
  }
  await stop("demo", server, port);
  return cookie;
}

/** A second start on the data folder the first one created: the session is still there. */
async function restart(cookie) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = start("demo:start", "npm run demo:start", newcomerEnv({ PORT: String(port) }));
  try {
    await waitForPort("demo:start", server, port);
    const page = await request(base, "/", { cookie });
    expectStatus("second start, page with the cookie", page, 200);
    expectShown("second start, page with the cookie", page.body, { theme: "dark", items: 2, teaLine: true, embedded: true });
  } finally {
    await stop("demo:start", server, port);
  }
}

async function cli(command) {
  const run = start("demo:cli", command, newcomerEnv({}));
  const timer = setTimeout(() => {
    log(`demo:cli: still running after ${CLI_TIMEOUT / 1000} s`);
    process.kill(-run.child.pid, "SIGKILL");
  }, CLI_TIMEOUT);
  const exit = await run.exited;
  clearTimeout(timer);
  if (exit.code !== 0) fail(`\`${command}\` exited with ${JSON.stringify(exit)}`);
  await stop("demo:cli", run, undefined);
  const steps = [
    "1. First visit",
    "2. The visitor picks a theme",
    "3. Login",
    "4. Add to cart",
    "5. Next page",
    "6. A bad value",
    "7. Logout",
  ];
  const missing = steps.filter((step) => !run.output.includes(step));
  if (missing.length > 0) fail(`demo:cli's output lacks ${JSON.stringify(missing)}`);
  if (!/refused\s*: SESSION_VALIDATION/.test(run.output)) fail("demo:cli's step 6 did not show the refused value");
  if (!/Sessions left in the database: 0\b/.test(run.output)) fail("demo:cli did not end with no sessions left");
  log("demo:cli: the walk-through ran to its end (7 steps, 0 sessions left)");
}

/**
 * The README's `DATABASE_URL=file:shop.db npm run demo` (issue 16.6), on the build the first run
 * made: `npm run demo:start` with DATABASE_URL naming a SQLite file in a temporary folder (not
 * the checkout's examples/shop/shop.db). The shop creates the file and its table on the first
 * request, keeps a session, and says it stores sessions in SQLite.
 */
async function sqliteStart() {
  const dir = mkdtempSync(path.join(tmpdir(), "tessera-readme-sqlite-"));
  const file = path.join(dir, "shop.db");
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const command = `DATABASE_URL='file:${file}' npm run demo:start`;
  const server = start("demo:start on SQLite", command, newcomerEnv({ PORT: String(port) }));
  try {
    await waitForPort("demo:start on SQLite", server, port);
    const added = await request(base, "/api/trpc/cart.add", { json: { sku: "tea-01", qty: 2 } });
    expectStatus("SQLite: cart.add", added, 200);
    let cookie = sessionCookie("SQLite: cart.add", added.setCookies, undefined);
    const themed = await request(base, "/api/trpc/theme", { cookie, json: { theme: "dark" } });
    expectStatus("SQLite: theme", themed, 200);
    cookie = sessionCookie("SQLite: theme", themed.setCookies, cookie);
    const page = await request(base, "/", { cookie });
    expectStatus("SQLite: page with the cookie", page, 200);
    expectShown("SQLite: page with the cookie", page.body, {
      theme: "dark",
      items: 2,
      teaLine: true,
      sqlite: true,
      embedded: false,
    });
    const stranger = await request(base, "/");
    expectShown("SQLite: page without a cookie", stranger.body, { theme: "light", items: 0, sqlite: true });
    const head = readFileSync(file).subarray(0, 16).toString("latin1");
    if (head !== "SQLite format 3\0") fail(`${file} is not a SQLite database (it starts with ${JSON.stringify(head)})`);
    log(`demo:start on SQLite: the sessions are in ${file}`);
  } finally {
    await stop("demo:start on SQLite", server, port);
    rmSync(dir, { recursive: true, force: true });
  }
}

const commands = readmeCommands();
const cookie = await demo(commands.demo);
await restart(cookie);
await sqliteStart();
await cli(commands.cli);
log("the README's commands work as written");
