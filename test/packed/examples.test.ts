import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { root } from "../cli/cli.js";
import { type DocBlock, docFiles, extractBlocks } from "../docs/doc-blocks.js";
import { type Installed, installProject, locked, type Packed, packOnce, registryReachable } from "../helpers/packed.js";

const run = promisify(execFile);

/**
 * The package tried from the outside (issue 15.4 and 15.6): `npm pack` once, the tarball
 * installed into new projects with only the documented peers, by a plain `npm install` (no
 * --force, no --legacy-peer-deps: a peer conflict fails it), then the README's usage example and
 * each adapter's example in docs/adapters.md, read from the Markdown at run time, compiled by the
 * project's own `tsc --strict` against the packed `.d.ts` and run with node against the
 * installed package:
 *
 * - express4: Express 4.21.0 (the floor of the peer range, read from package.json) with
 *   `@types/express@4`: the Express example, the package's declarations lib-checked too;
 * - express5: the lock file's Express 5 and its types: the same;
 * - web: Hono, tRPC 11, Next 16, Drizzle on PGlite at the lock file's versions: the README's
 *   example, fetch, Hono and tRPC run; the Next example compiled with the tsconfig
 *   `create-next-app` writes (it runs in a real server in .ci/next-fixture.mjs, on Next 16 and
 *   15: test/packed/next-doc-example.spec.ts); and every usage block of README.md and docs/*.md
 *   compiled against the packed `.d.ts` (test/docs/ checks them against src/, which cannot see
 *   a declaration the build emits wrong);
 * - floor: the lowest version of each other peer range the examples use (zod, drizzle-orm,
 *   PGlite, Hono, tRPC): the README's, fetch, Hono and tRPC examples compiled and run.
 *
 * The four projects install in parallel from the npm cache where it can (~1.5 min in all here).
 * Without the registry the suite is skipped with a notice; under CI=true that is a failure.
 */

const reachable = await registryReachable();
if (!reachable) {
  const notice =
    "test/packed: the npm registry does not answer (npm ping), so the packed-package tests cannot run (skipped here; a failure under CI=true): run them with network access";
  if (process.env.CI === "true") throw new Error(`CI=true: ${notice}`);
  console.warn(`\n${notice}\n`);
}

/** The usage block of `file` that imports `module` and contains `marker` (exactly one). */
function example(file: string, module: string, marker = ""): DocBlock {
  const blocks = extractBlocks(file, readFileSync(join(root, file), "utf8")).filter(
    (block) => block.code.includes(`from "${module}"`) && block.code.includes(marker),
  );
  if (blocks.length !== 1) throw new Error(`${file}: ${blocks.length} usage blocks import ${module}, expected 1`);
  return blocks[0] as DocBlock;
}

/** Every usage block of README.md and docs/*.md, by the file it is compiled as in the web project. */
const allBlocks = new Map<string, DocBlock>(
  docFiles(root)
    .flatMap((file) => extractBlocks(file, readFileSync(join(root, file), "utf8")))
    .map((block) => [`blocks/${block.file.replaceAll("/", "_")}-L${block.line}.${block.lang}`, block] as const),
);

// The README's usage example (its handler is run); the three setups above it are compiled only.
const readme = example("README.md", "tesserae/drizzle", "export async function handler");
const adapters = {
  express: example("docs/adapters.md", "tesserae/express"),
  fetch: example("docs/adapters.md", "tesserae/fetch"),
  hono: example("docs/adapters.md", "tesserae/hono"),
  trpc: example("docs/adapters.md", "tesserae/trpc"),
  next: example("docs/adapters.md", "tesserae/next"),
};

/**
 * A Node app's tsconfig: strict, NodeNext. The Express projects check every declaration file,
 * the package's included (no skipLibCheck); the web project must skip them, as apps do, because
 * drizzle-orm's and PGlite's own declarations do not pass a lib check (gel, mysql2, Emscripten).
 */
const nodeTsconfig = (skipLibCheck: boolean) => ({
  compilerOptions: {
    target: "ES2022",
    module: "NodeNext",
    moduleResolution: "NodeNext",
    lib: ["ES2022"],
    types: ["node"],
    strict: true,
    skipLibCheck,
    rootDir: "src",
    outDir: "dist",
  },
  include: ["src"],
});

/** What `create-next-app` writes (Next 15 and 16), without the plugin, for `tsc --noEmit`. */
const nextTsconfig = {
  compilerOptions: {
    target: "ES2017",
    lib: ["dom", "dom.iterable", "esnext"],
    allowJs: true,
    skipLibCheck: true,
    strict: true,
    noEmit: true,
    esModuleInterop: true,
    module: "esnext",
    moduleResolution: "bundler",
    resolveJsonModule: true,
    isolatedModules: true,
    jsx: "preserve",
    incremental: false,
  },
  include: ["next/**/*.ts"],
};

/** The same for every usage block of the docs (test/docs/ checks them against src/; here, the packed .d.ts). */
const blocksTsconfig = { compilerOptions: { ...nextTsconfig.compilerOptions, jsx: "react-jsx" }, include: ["blocks"] };

/** Small scripts that drive each compiled example as a client would and print what they saw. */
const drivers = {
  readme: `
import { handler } from "./dist/readme.js";
const first = await handler(new Request("https://app.example/"));
const [setCookie] = first.headers.getSetCookie();
const second = await handler(new Request("https://app.example/", { headers: { cookie: setCookie.split(";")[0] } }));
console.log(JSON.stringify({ first: await first.text(), setCookie, second: await second.text() }));
`,
  fetch: `
import app from "./dist/fetch.js";
const first = await app.fetch(new Request("https://app.example/"));
const [setCookie] = first.headers.getSetCookie();
const second = await app.fetch(new Request("https://app.example/", { headers: { cookie: setCookie.split(";")[0] } }));
console.log(JSON.stringify({ first: await first.text(), setCookie, cacheControl: first.headers.get("cache-control"), second: await second.text() }));
`,
  hono: `
import { app } from "./dist/hono.js";
const set = await app.request("/theme/dark", { method: "POST" });
const [setCookie] = set.headers.getSetCookie();
const read = await app.request("/", { headers: { cookie: setCookie.split(";")[0] } });
const fresh = await app.request("/");
console.log(JSON.stringify({ set: set.status, setCookie, read: await read.text(), vary: read.headers.get("vary"), fresh: await fresh.text() }));
`,
  trpc: `
import { GET, POST } from "./dist/trpc.js";
const add = await POST(new Request("https://app.example/api/trpc/add", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify("apple") }));
const [setCookie] = add.headers.getSetCookie();
const cart = await GET(new Request("https://app.example/api/trpc/cart", { headers: { cookie: setCookie.split(";")[0] } }));
const crossSite = await POST(new Request("https://app.example/api/trpc/add", { method: "POST", headers: { "content-type": "application/json", "sec-fetch-site": "cross-site" }, body: JSON.stringify("pear") }));
console.log(JSON.stringify({ add: await add.json(), setCookie, cart: await cart.json(), crossSite: crossSite.status, crossSiteCookie: crossSite.headers.getSetCookie() }));
`,
  express: `
import { readFileSync } from "node:fs";
import { app } from "./dist/express.js";
const server = app.listen(0, "127.0.0.1");
await new Promise((resolve) => server.once("listening", resolve));
const base = "http://127.0.0.1:" + server.address().port;
const add = await fetch(base + "/cart/apple", { method: "POST" });
const [setCookie] = add.headers.getSetCookie();
const cart = await fetch(base + "/cart", { headers: { cookie: setCookie.split(";")[0] } });
const version = JSON.parse(readFileSync("node_modules/express/package.json", "utf8")).version;
console.log(JSON.stringify({ version, add: await add.json(), setCookie, cacheControl: add.headers.get("cache-control"), cart: await cart.json() }));
server.closeAllConnections();
server.close();
`,
};

type Project = "express4" | "express5" | "web" | "floor";

const peers = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { peerDependencies: Record<string, string> })
  .peerDependencies;

/** The lowest version package.json's peer range of `name` allows (`>=4.21.0` or `^4.0.0` → the version). */
function floor(name: string): string {
  const version = /^(?:>=|\^)(\d+\.\d+\.\d+)$/.exec(peers[name] ?? "")?.[1];
  if (version === undefined) throw new Error(`the peer range of ${name} (${peers[name]}) has no plain floor`);
  return version;
}

/** The dependencies of each project besides the tarball: only documented peers, and the type tools. */
const projects: Record<Project, { dependencies: Record<string, string>; devDependencies: Record<string, string> }> = {
  express4: {
    dependencies: { express: floor("express"), zod: locked("zod") },
    devDependencies: { "@types/express": "^4.17.21", "@types/node": locked("@types/node"), typescript: locked("typescript") },
  },
  express5: {
    dependencies: { express: locked("express"), zod: locked("zod") },
    devDependencies: {
      "@types/express": locked("@types/express"),
      "@types/node": locked("@types/node"),
      typescript: locked("typescript"),
    },
  },
  // The floor of each peer range the examples use; Next's (15.0.0 wants a React 19 release
  // candidate) is .ci/next-fixture.mjs's 15.5.29.
  floor: {
    dependencies: {
      zod: floor("zod"),
      "drizzle-orm": floor("drizzle-orm"),
      "@electric-sql/pglite": floor("@electric-sql/pglite"),
      hono: floor("hono"),
      "@trpc/server": floor("@trpc/server"),
    },
    devDependencies: { "@types/node": locked("@types/node"), typescript: locked("typescript") },
  },
  web: {
    dependencies: {
      zod: locked("zod"),
      "drizzle-orm": locked("drizzle-orm"),
      "@electric-sql/pglite": locked("@electric-sql/pglite"),
      hono: locked("hono"),
      "@trpc/server": locked("@trpc/server"),
      next: locked("next"),
      react: locked("react"),
      "react-dom": locked("react-dom"),
      // What the other blocks of the docs import (compiled only).
      express: locked("express"),
      ioredis: locked("ioredis"),
      postgres: locked("postgres"),
      pg: locked("pg"),
      "@libsql/client": locked("@libsql/client"),
      mysql2: locked("mysql2"),
      "iron-session": locked("iron-session"),
    },
    devDependencies: {
      "@types/node": locked("@types/node"),
      "@types/react": locked("@types/react"),
      "@types/express": locked("@types/express"),
      "@types/pg": locked("@types/pg"),
      // docs/stores.md's better-sqlite3 block is compiled only: its types, not the native module.
      "@types/better-sqlite3": locked("@types/better-sqlite3"),
      "drizzle-kit": locked("drizzle-kit"),
      typescript: locked("typescript"),
    },
  },
};

/** Which example goes into which project, and under which file name. */
const sources: Record<Project, Record<string, DocBlock>> = {
  express4: { "src/express.ts": adapters.express },
  express5: { "src/express.ts": adapters.express },
  floor: { "src/readme.ts": readme, "src/fetch.ts": adapters.fetch, "src/hono.ts": adapters.hono, "src/trpc.ts": adapters.trpc },
  web: {
    "src/readme.ts": readme,
    "src/fetch.ts": adapters.fetch,
    "src/hono.ts": adapters.hono,
    "src/trpc.ts": adapters.trpc,
    "next/route.ts": adapters.next,
    ...Object.fromEntries(allBlocks),
  },
};

const where = (block: DocBlock) => `${block.file}:${block.line}`;

describe.skipIf(!reachable)("the packed package in new projects (issue 15.4, 15.6)", { timeout: 120_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), "tessera-packed-examples-"));
  const dir = (project: Project) => join(work, project);
  let pack: Packed;
  const installed = new Map<Project, Installed>();
  /** What each `tsc -p` printed, by "project config" (empty when it compiled). */
  const compiled = new Map<string, string>();

  /** `tsc -p <config>` in the project (the app's own TypeScript); its output, empty when it compiled. */
  async function tsc(project: Project, config: string): Promise<void> {
    const output = await run(join(dir(project), "node_modules", ".bin", "tsc"), ["-p", config], { cwd: dir(project) }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string; stderr?: string }) => `${error.stdout ?? ""}${error.stderr ?? ""}` || String(error),
    );
    compiled.set(`${project} ${config}`, output.trim());
  }

  beforeAll(async () => {
    pack = await packOnce();
    await Promise.all(
      (Object.keys(projects) as Project[]).map(async (project) => {
        const { dependencies, devDependencies } = projects[project];
        installed.set(project, await installProject(dir(project), pack.tarball, dependencies, devDependencies));
        for (const [file, block] of Object.entries(sources[project])) {
          await mkdir(join(dir(project), file, ".."), { recursive: true });
          await writeFile(join(dir(project), file), `// ${where(block)}\n${block.code}`);
        }
        await writeFile(
          join(dir(project), "tsconfig.json"),
          JSON.stringify(nodeTsconfig(project === "web" || project === "floor"), null, 2),
        );
        if (project === "web") {
          await writeFile(join(dir(project), "tsconfig.next.json"), JSON.stringify(nextTsconfig, null, 2));
          await writeFile(join(dir(project), "tsconfig.blocks.json"), JSON.stringify(blocksTsconfig, null, 2));
        }
        for (const [name, code] of Object.entries(drivers)) await writeFile(join(dir(project), `drive-${name}.mjs`), code);
        await tsc(project, "tsconfig.json");
        if (project === "web") await Promise.all([tsc(project, "tsconfig.next.json"), tsc(project, "tsconfig.blocks.json")]);
      }),
    );
    const seconds = [...installed].map(([project, { seconds }]) => `${project} ${seconds.toFixed(1)} s`).join(", ");
    console.log(`test/packed: ${pack.tarball} (${pack.size} B, ${pack.unpackedSize} B unpacked); npm install: ${seconds}`);
  }, 600_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  /** Runs `drive-<name>.mjs` in the project and parses what it printed. */
  async function drive(project: Project, name: keyof typeof drivers): Promise<Record<string, unknown>> {
    const { stdout } = await run(process.execPath, [`drive-${name}.mjs`], { cwd: dir(project), timeout: 60_000 });
    return JSON.parse(stdout.trim().split("\n").pop() ?? "") as Record<string, unknown>;
  }

  /** `npm ls --all` exits 0: no missing, invalid or conflicting dependency, peers included. */
  async function npmLs(project: Project): Promise<string> {
    const { stdout } = await run("npm", ["ls", "--all"], { cwd: dir(project), maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  }

  /** A session cookie as the default options write it. */
  const sessionCookie =
    /^__Host-sid=[A-Za-z0-9_-]{43}; Max-Age=1209600; Path=\/; Expires=[^;]+ GMT; HttpOnly; Secure; SameSite=Lax$/;

  describe.each([
    ["express4", new RegExp(`^${floor("express").replaceAll(".", "\\.")}$`), /^4\./],
    ["express5", /^5\./, /^5\./],
  ] as const)("%s", (project, expressVersion, typesVersion) => {
    it("npm install (no --force, no --legacy-peer-deps) takes the tarball with this Express and its types, and npm ls finds no peer problem", async () => {
      const tree = await npmLs(project);
      expect(tree).toMatch(/tesserae@0\.\d+\.\d+/);
      const express = JSON.parse(readFileSync(join(dir(project), "node_modules/express/package.json"), "utf8"));
      const types = JSON.parse(readFileSync(join(dir(project), "node_modules/@types/express/package.json"), "utf8"));
      expect(express.version).toMatch(expressVersion);
      expect(types.version).toMatch(typesVersion);
    });

    it(`compiles docs/adapters.md's Express example with tsc --strict against the packed .d.ts (${where(adapters.express)})`, async () => {
      expect(compiled.get(`${project} tsconfig.json`)).toBe("");
    });

    it("runs it: POST /cart/apple sets the session cookie with no-store, GET /cart with it reads the cart", async () => {
      const seen = await drive(project, "express");
      expect(seen.version).toMatch(expressVersion);
      expect(seen.add).toEqual(["apple"]);
      expect(seen.setCookie).toMatch(sessionCookie);
      expect(seen.cacheControl).toBe("private, no-store");
      expect(seen.cart).toEqual(["apple"]);
    });
  });

  describe("web (Hono, tRPC, Next, Drizzle on PGlite)", () => {
    it("npm install (no --force, no --legacy-peer-deps) takes the tarball with the documented peers, and npm ls finds no peer problem", async () => {
      const tree = await npmLs("web");
      for (const name of ["tesserae", "hono", "@trpc/server", "next", "drizzle-orm", "@electric-sql/pglite", "zod"]) {
        expect(tree, name).toContain(`${name}@`);
      }
    });

    it(`compiles the README's example and the fetch, Hono and tRPC examples with tsc --strict (NodeNext) against the packed .d.ts`, async () => {
      expect(compiled.get("web tsconfig.json")).toBe("");
    });

    it(`compiles the Next example with create-next-app's tsconfig (${where(adapters.next)})`, async () => {
      expect(compiled.get("web tsconfig.next.json")).toBe("");
    });

    it("compiles every usage block of README.md and docs/*.md against the packed .d.ts (bundler resolution)", () => {
      // blocks/docs_stores.md-L172.ts(7,34): error … → docs/stores.md:179: error … (line 1 of the file is the comment)
      const errors = (compiled.get("web tsconfig.blocks.json") ?? "")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
          const at = /^(blocks\/[^(]+)\((\d+),\d+\): (.*)$/.exec(line);
          const block = at === null ? undefined : allBlocks.get(at[1] as string);
          return block === undefined || at === null ? line : `${block.file}:${block.line + Number(at[2]) - 1}: ${at[3]}`;
        });
      expect(allBlocks.size).toBeGreaterThan(20);
      expect(errors, errors.join("\n")).toEqual([]);
    });
  });

  describe.each(["web", "floor"] as const)("%s: runs each example", (project) => {
    it(`the README's usage example (${where(readme)}): PGlite migrated, visit 1 sets the cookie, visit 2 comes back with it`, async () => {
      const seen = await drive(project, "readme");
      expect(seen).toMatchObject({ first: "visit 1", second: "visit 2" });
      expect(seen.setCookie).toMatch(sessionCookie);
    });

    it(`fetch (${where(adapters.fetch)}): visit 1 then visit 2, the cookie sent with no-store`, async () => {
      const seen = await drive(project, "fetch");
      expect(seen).toMatchObject({ first: "visit 1", second: "visit 2", cacheControl: "private, no-store" });
      expect(seen.setCookie).toMatch(sessionCookie);
    });

    it(`Hono (${where(adapters.hono)}): POST /theme/dark, then GET / with the cookie reads dark; without it, light`, async () => {
      const seen = await drive(project, "hono");
      expect(seen).toMatchObject({ set: 200, read: "theme: dark", vary: "Cookie", fresh: "theme: light" });
      expect(seen.setCookie).toMatch(sessionCookie);
    });

    it(`tRPC (${where(adapters.trpc)}): the add mutation sets the cookie, the cart query reads it back, a cross-site POST is refused`, async () => {
      const seen = await drive(project, "trpc");
      expect(seen.add).toEqual({ result: { data: ["apple"] } });
      expect(seen.setCookie).toMatch(sessionCookie);
      expect(seen.cart).toEqual({ result: { data: ["apple"] } });
      expect(seen.crossSite).toBe(403);
      expect(seen.crossSiteCookie).toEqual([]);
    });
  });

  describe("floor: the lowest version of each peer range the examples use", () => {
    it("npm install takes them with the tarball, and npm ls finds no peer problem", async () => {
      await npmLs("floor");
      for (const name of ["zod", "drizzle-orm", "@electric-sql/pglite", "hono", "@trpc/server"]) {
        const installed = JSON.parse(readFileSync(join(dir("floor"), "node_modules", name, "package.json"), "utf8"));
        expect(installed.version, name).toBe(floor(name));
      }
    });

    it("compiles the README's example and the fetch, Hono and tRPC examples with tsc --strict (NodeNext)", () => {
      expect(compiled.get("floor tsconfig.json")).toBe("");
    });
  });
});
