import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  exports: Record<string, string | { types: string; import: string }>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}
const imports = (file: string) =>
  [...readFileSync(join(root, file), "utf8").matchAll(/^(?:import|export)[^;]*?from\s+"([^"]+)"/gms)].map((m) => m[1] as string);

/** The one driver each store folder may import besides its own files. */
function driverOf(file: string): RegExp {
  const folder = file.split(/[\\/]/)[2];
  // The file store's "driver" is Node's file system; the cookie and memory stores use none.
  const driver = { drizzle: "drizzle-orm(/|$)", redis: "ioredis(/|$)", file: "node:" }[folder as string];
  // A dialect's folder inside a store (drizzle/sqlite/, drizzle/mysql/) also uses its store's own files.
  const local = file.split(/[\\/]/).length > 4 ? "\\.\\./(?!\\.\\./)|\\./" : "\\./";
  return driver ? new RegExp(`^(${local}|${driver})`) : new RegExp(`^(${local})`);
}

describe("package shape (hono's validate-exports, drizzle's exports test)", () => {
  it("every subpath export points at a src/**/index.ts or an adapter, and each of those is exported", () => {
    const targets = Object.entries(pkg.exports)
      .filter(([key]) => key !== "./package.json")
      .map(([, value]) => (typeof value === "string" ? value : value.import).replace("./dist/", "src/").replace(/\.js$/, ".ts"));
    const indexes = sourceFiles("src").filter(
      // An adapter is a file of src/adapters; a folder beside it (src/adapters/trpc/) holds its helpers.
      (f) => (f.endsWith("index.ts") && !f.startsWith(join("src", "cli"))) || dirname(f) === join("src", "adapters"),
    );
    expect(targets.sort()).toEqual(indexes.map((f) => relative(root, join(root, f))).sort());
  });

  it("index.ts files hold named re-exports only", () => {
    for (const file of sourceFiles("src").filter((f) => f.endsWith("index.ts"))) {
      const code = readFileSync(join(root, file), "utf8").replace(/\/\/.*$/gm, "");
      expect(code, file).not.toMatch(/export \*/);
      expect(code.replace(/export\s+(type\s+)?\{[^}]*\}\s+from\s+"[^"]+";/g, "").trim(), file).toBe("");
    }
  });

  it("the core imports no driver, framework or node: module", () => {
    // The CLI is a Node program of its own (bin), outside the core that apps import.
    for (const file of sourceFiles("src").filter(
      (f) => !f.includes(join("src", "stores")) && !f.includes(join("src", "adapters")) && !f.includes(join("src", "cli")),
    )) {
      // src/express-session/ (the importer's subpath) reaches the core through its public entry only.
      const own = file.startsWith(join("src", "express-session")) ? /^(\.\/|\.\.\/index\.js$)/ : /^\.\//;
      for (const spec of imports(file)) {
        if (own.test(spec)) continue;
        expect(spec, `${file} imports ${spec}`).toMatch(/^(zod$|superjson$|cookie$|@noble\/hashes\/)/);
      }
    }
  });

  it("an adapter imports only the public API, the adapter kit, its framework and the cookie parser; only adapters import the kit", () => {
    const frameworks: Record<string, RegExp> = {
      express: /^express$/,
      fetch: /^$/,
      hono: /^hono(\/|$)/,
      next: /^next\//,
      trpc: /^@trpc\/server(\/|$)/,
    };
    for (const file of sourceFiles(join("src", "adapters"))) {
      const name = file.split(/[\\/]/)[2]?.replace(/\.ts$/, "") ?? "";
      const framework = frameworks[name] ?? /^$/;
      // A helper in src/adapters/<name>/ reaches the public API and the kit one level further up, and its own folder.
      const helper = dirname(file) !== join("src", "adapters");
      const up = helper ? "../../" : "../";
      const own = (spec: string) => (helper ? spec.startsWith("./") : spec.startsWith(`./${name}/`));
      for (const spec of imports(file)) {
        if (spec === `${up}index.js` || spec === `${up}adapter-kit.js` || spec === "cookie" || own(spec)) continue;
        expect(spec, `${file} imports ${spec}`).toMatch(framework);
      }
    }
    // The kit is the adapters' way past the public API (src/adapter-kit.ts): nothing else in src/ uses it.
    const kitUsers = sourceFiles("src").filter((file) => imports(file).some((spec) => spec.endsWith("adapter-kit.js")));
    expect(kitUsers.length).toBeGreaterThan(0);
    for (const file of kitUsers) expect(file, `${file} imports the adapter kit`).toMatch(/^src[\\/]adapters[\\/]/);
  });

  it("the CLI imports only the package's public entry points (as an app does), its own files and packages", () => {
    // Static and dynamic imports: the CLI loads its commands, drivers and stores when run.
    const everyImport = (file: string) => [
      ...imports(file),
      ...[...readFileSync(join(root, file), "utf8").matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)].map((m) => m[1] as string),
    ];
    const publicEntries = Object.entries(pkg.exports)
      .filter(([key]) => key !== "./package.json")
      .map(([, value]) =>
        normalize((typeof value === "string" ? value : value.import).replace("./dist/", "src/").replace(/\.js$/, ".ts")),
      );
    const cli = sourceFiles(join("src", "cli"));
    expect(cli.length).toBeGreaterThan(5);
    let reachedCore = 0;
    for (const file of cli) {
      for (const spec of everyImport(file)) {
        if (!spec.startsWith(".")) continue; // a package: commander, jiti, a driver, node:…
        const target = normalize(join(dirname(file), spec).replace(/\.js$/, ".ts"));
        if (target.startsWith(join("src", "cli"))) continue;
        reachedCore++;
        expect(publicEntries, `${file} imports ${spec}`).toContain(target);
      }
    }
    // The CLI does use the public API (the assertion above is not vacuous).
    expect(reachedCore).toBeGreaterThan(3);
  });

  it("a store imports only the store types, the errors, the UTF-8 measure, the Duration parser and its driver, never the session logic", () => {
    // The cookie store's persistence strategy is the one exception: a cookie store is a way of
    // persisting sessions (in the cookie), so its strategy works the persistence seam.
    const strategy = join("src", "stores", "cookie", "sealed-cookie.ts");
    for (const file of sourceFiles(join("src", "stores"))) {
      for (const spec of imports(file)) {
        if (file === strategy && /^\.\.\/\.\.\/(persistence|cookie|token|operator|schema)\.js$/.test(spec)) continue;
        const up = file.split(/[\\/]/).length - 2; // how many "../" lead from the file's folder to src/
        if (spec.startsWith("../".repeat(up)))
          expect(spec, file).toMatch(new RegExp(`^(\\.\\./){${up}}(store|errors|utf8|duration)\\.js$`));
        else expect(spec, file).toMatch(driverOf(file));
      }
    }
  });

  it("the session and its manager never ask which kind of store they hold: only defineSession picks the persistence", () => {
    for (const file of ["session.ts", "session-state.ts", "manager.ts"].map((f) => join(root, "src", f))) {
      const code = readFileSync(file, "utf8");
      expect(code, file).not.toMatch(/sealer|CookieSessionStore|kind === "cookie"|sealedCookie|serverRecord/);
    }
    const define = readFileSync(join(root, "src", "define.ts"), "utf8");
    expect(define.match(/isCookieStore\(/g)?.length, "define.ts asks once (plus the guard's own definition)").toBe(2);
  });
});
