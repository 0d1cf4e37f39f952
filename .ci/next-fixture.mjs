/**
 * The Next fixture (issue 12.5): an app that uses Tessera as a user does, from the PACKED
 * package, built with webpack and with Turbopack, served by `next start` and tested over HTTP.
 *
 * 1. `npm run build` (skipped with `--no-build`: .ci/run has just built) and `npm pack` into a
 *    temporary folder;
 * 2. a temporary project: test/next-app/ copied, a package.json with the tarball and next, react,
 *    react-dom, drizzle-orm, @electric-sql/pglite, zod (and typescript, @types/*: `next build`
 *    type-checks the app against the packed .d.ts) at the versions of the repository's lock
 *    file, `npm install` from the npm cache where it can;
 *    docs/adapters.md's `tesserae/next` example is added as lib/doc-example.ts, its `POST` served
 *    as app/api/doc-example/route.ts (issue 15.6: the docs' Next example runs in a real server);
 * 3. `next build --webpack`, then the Turbopack build; after each, `next start` on a free port
 *    twice, bound to 127.0.0.1 (Next then serves the proxy's rewrites by proxying a request to
 *    itself) and to localhost (rewrites served in-process), each on a fresh PGlite folder, and
 *    test/adapters/next-app.spec.ts and test/packed/next-doc-example.spec.ts run against it (NEXT_APP_URL). Each server is started in its
 *    own process group and stopped by its id; nothing may stay on its port.
 *
 * Options: `--no-build`; `--next <version>` to test another Next (e.g. `--next 15.5.7`);
 * `--bundler webpack|turbopack` and `--host 127.0.0.1|localhost` to run one of each only;
 * `--keep` to leave the temporary folder. Prints each step's time.
 * Usage: `npm run test:next-app` (`node .ci/next-fixture.mjs`).
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { accepts, freePort, sleep, spawnGroup, stopGroup } from "./lib/processes.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const START_TIMEOUT = 60_000;
const { values: args } = parseArgs({
  options: {
    "no-build": { type: "boolean" },
    next: { type: "string" },
    keep: { type: "boolean" },
    bundler: { type: "string" },
    host: { type: "string" },
  },
});

const started = Date.now();
const timings = [];
const log = (message) => console.log(`next-fixture: ${message}`);

function fail(message) {
  throw new Error(`next-fixture: ${message}`);
}

/** Runs `step` and records how long it took. */
async function timed(label, step) {
  const t0 = Date.now();
  log(`${label}…`);
  const result = await step();
  const seconds = (Date.now() - t0) / 1000;
  timings.push([label, seconds]);
  log(`${label}: ${seconds.toFixed(1)} s`);
  return result;
}

/** Runs a command to its end, its output echoed (stdout only kept with `quiet`); rejects on a non-zero exit. Returns stdout. */
function run(command, commandArgs, { quiet = false, ...options } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ["ignore", "pipe", "pipe"], ...options });
    let stdout = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (!quiet) process.stdout.write(chunk);
    });
    child.stderr.on("data", (chunk) => process.stderr.write(chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`next-fixture: \`${command} ${commandArgs.join(" ")}\` exited ${code ?? signal}`));
    });
  });
}

/**
 * The usage block of docs/adapters.md that imports `tesserae/next` (a top-level "```ts" fence;
 * test/docs/doc-blocks.ts is the full extractor, for the TypeScript side of the repository).
 */
function nextDocExample() {
  const markdown = readFileSync(path.join(root, "docs/adapters.md"), "utf8");
  const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  const found = blocks.filter((code) => code.includes('from "tesserae/next"'));
  if (found.length !== 1) fail(`docs/adapters.md: ${found.length} \`\`\`ts blocks import tesserae/next, expected 1`);
  return found[0];
}

/** The version the repository's lock file installs of `name`. */
function locked(name) {
  const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8"));
  const version = lock.packages[`node_modules/${name}`]?.version;
  if (version === undefined) fail(`${name} is not in package-lock.json`);
  return version;
}

/** `next start` in a process group of its own, on a fresh PGlite folder; resolves once it answers. */
async function startServer(app, host, port, dataDir) {
  const next = path.join(app, "node_modules/.bin/next");
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", FIXTURE_PGLITE: dataDir, NODE_ENV: "production" };
  const state = spawnGroup(next, ["start", "-H", host, "-p", String(port)], { cwd: app, env });
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + START_TIMEOUT;
  while (Date.now() < deadline) {
    if (state.exit !== undefined) fail(`next start exited (${JSON.stringify(state.exit)}) before serving:\n${state.output}`);
    // The probe route opens (and migrates) the database, so the first test does not pay for it.
    const ok = await fetch(`${url}/api/count`, { signal: AbortSignal.timeout(10_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return { state, url };
    await sleep(250);
  }
  fail(`next start did not answer on ${url} within ${START_TIMEOUT / 1000} s:\n${state.output}`);
}

/** Stops the server's whole process group: TERM, then KILL after 10 s; nothing may stay on the port. */
async function stopServer({ state }, host, port) {
  const pgid = state.child.pid;
  if (!(await stopGroup(pgid, 10_000, log))) fail(`process group ${pgid} survived SIGKILL`);
  if (await accepts(port, host)) fail(`something still listens on ${host}:${port}`);
}

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), "tessera-next-fixture-"));
  log(`working in ${work}`);
  try {
    if (!args["no-build"]) await timed("npm run build", () => run("npm", ["run", "build"], { cwd: root }));
    const packed = await timed("npm pack", () =>
      run("npm", ["pack", "--json", "--pack-destination", work], { cwd: root, quiet: true }),
    );
    const tarball = JSON.parse(packed)[0].filename;

    const app = path.join(work, "app");
    cpSync(path.join(root, "test/next-app"), app, { recursive: true });
    writeFileSync(path.join(app, "lib/doc-example.ts"), `// docs/adapters.md, tesserae/next\n${nextDocExample()}`);
    mkdirSync(path.join(app, "app/api/doc-example"), { recursive: true });
    writeFileSync(path.join(app, "app/api/doc-example/route.ts"), 'export { POST } from "../../../lib/doc-example";\n');
    const nextVersion = args.next ?? locked("next");
    const manifest = {
      name: "tessera-next-fixture",
      private: true,
      dependencies: {
        tesserae: `file:../${tarball}`,
        next: nextVersion,
        react: locked("react"),
        "react-dom": locked("react-dom"),
        "drizzle-orm": locked("drizzle-orm"),
        "@electric-sql/pglite": locked("@electric-sql/pglite"),
        zod: locked("zod"),
      },
      devDependencies: {
        typescript: locked("typescript"),
        "@types/node": locked("@types/node"),
        "@types/react": locked("@types/react"),
        "@types/react-dom": locked("@types/react-dom"),
      },
    };
    writeFileSync(path.join(app, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    await timed("npm install (the tarball and the app's dependencies)", () =>
      run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], { cwd: app }),
    );
    const installed = JSON.parse(readFileSync(path.join(app, "node_modules/next/package.json"), "utf8")).version;
    const major = Number(installed.split(".")[0]);
    log(`Next ${installed} installed`);
    if (major < 16) {
      // Next 15 runs `middleware.ts` (`proxy.ts` is Next 16's name for it), and on the Node.js
      // runtime (PGlite needs it) only when its config asks; the config must be written in the file.
      writeFileSync(
        path.join(app, "middleware.ts"),
        'import { proxy } from "./proxy";\n\nexport const middleware = proxy;\n' +
          'export const config = { matcher: ["/((?!_next/|favicon.ico).*)"], runtime: "nodejs" };\n',
      );
    }

    const bundlers = [
      ["webpack", major < 16 ? ["build"] : ["build", "--webpack"]], // webpack is Next 15's default, Turbopack 16's
      ["Turbopack", major < 16 ? ["build", "--turbopack"] : ["build"]],
    ];
    for (const [bundler, buildArgs] of bundlers) {
      if (args.bundler !== undefined && args.bundler.toLowerCase() !== bundler.toLowerCase()) continue;
      rmSync(path.join(app, ".next"), { recursive: true, force: true });
      await timed(`next build (${bundler})`, () =>
        run(path.join(app, "node_modules/.bin/next"), buildArgs, {
          cwd: app,
          env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
        }),
      );
      for (const host of args.host === undefined ? ["127.0.0.1", "localhost"] : [args.host]) {
        const port = await freePort();
        const dataDir = path.join(work, `pglite-${bundler}-${host}`);
        mkdirSync(dataDir);
        const server = await timed(`next start -H ${host} (${bundler})`, () => startServer(app, host, port, dataDir));
        try {
          await timed(`tests against ${server.url} (${bundler})`, () =>
            run("npx", ["vitest", "run", "--config", "test/adapters/next-app.vitest.config.ts"], {
              cwd: root,
              env: {
                ...process.env,
                NEXT_APP_URL: server.url,
                NEXT_APP_LABEL: `Next ${installed}, ${bundler}, next start -H ${host}`,
              },
            }),
          );
        } catch (error) {
          console.error(`next start output:\n${server.state.output}`);
          throw error;
        } finally {
          await stopServer(server, host, port);
        }
      }
    }
  } finally {
    if (args.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  log("timings:");
  for (const [label, seconds] of timings) log(`  ${seconds.toFixed(1).padStart(6)} s  ${label}`);
  log(`  ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  in all`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
