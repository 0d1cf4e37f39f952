import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { Plugin } from "esbuild";
import { defineConfig } from "tsup";

const root = import.meta.dirname;
const src = join(root, "src");
const cliSrc = join(src, "cli");
const cliOut = join(root, "dist", "cli");

/**
 * What the `tesserae` bin bundles, so that an app installing the library does not install them
 * (issue 13.4): they are devDependencies, and test/cli/cli-packed.test.ts checks that this list
 * is what package.json keeps out of `dependencies`.
 */
export const cliBundled = ["commander", "cli-progress"];

const toPosix = (path: string) => path.split(sep).join("/");

/**
 * The CLI bundle keeps the library outside: an import from src/cli/** of a module outside
 * src/cli/ (../define.js, ../stores/drizzle/index.js, …) stays an import of that module's own
 * file in dist/, so the bin and a `--config` module share one copy of the library (its error
 * classes, its symbols). Every file of the CLI bundle sits directly in dist/cli/ (entry and
 * chunks), so the specifier is the path from dist/cli/ to the module's mirror in dist/.
 */
const libraryExternal: Plugin = {
  name: "tessera-library-external",
  setup(build) {
    build.onResolve({ filter: /^\.\.?\// }, (args) => {
      if (!args.importer.startsWith(cliSrc + sep)) return undefined;
      const target = resolve(dirname(args.importer), args.path);
      if (target.startsWith(cliSrc + sep)) return undefined;
      if (!target.startsWith(src + sep)) throw new Error(`the CLI imports ${args.path} from outside src/`);
      const fromOut = toPosix(relative(cliSrc, target));
      return { path: fromOut.startsWith(".") ? fromOut : `./${fromOut}`, external: true };
    });
  },
};

/**
 * A CLI module that finds a file next to itself (`new URL("../../package.json", import.meta.url)`,
 * the migrate command's `../../../drizzle/`) is written for its own place in src/cli/ and
 * dist/cli/. Bundled, its code lands in dist/cli/bin.js or a chunk beside it, so
 * `import.meta.url` in a module of src/cli/<path>.ts is replaced by the URL that module had
 * unbundled: dist/cli/<path>.js, resolved from the file the code ends up in.
 */
const moduleUrl: Plugin = {
  name: "tessera-cli-module-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(cliSrc + sep)) return undefined;
      const code = readFileSync(args.path, "utf8");
      if (!code.includes("import.meta.url")) return undefined;
      const own = `./${toPosix(relative(cliSrc, args.path)).replace(/\.ts$/, ".js")}`;
      return {
        contents: code.replaceAll("import.meta.url", `new URL(${JSON.stringify(own)}, import.meta.url).href`),
        loader: "ts",
      };
    });
  },
};

/**
 * The packages' MIT notices ship with the code that bundles them. jiti, which loads a TypeScript
 * `--config`, is not bundled: it is the app's optional peer, resolved from the app at run time
 * (src/cli/load-config.ts), so the package ships no transpiler.
 */
const packageDir = (name: string) => join(root, "node_modules", name);
const licenseNotices: Plugin = {
  name: "tessera-cli-license-notices",
  setup(build) {
    build.onEnd((result) => {
      if (result.errors.length > 0) return;
      mkdirSync(cliOut, { recursive: true });
      const notices = cliBundled.map((name) => {
        const dir = packageDir(name);
        const version = (JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { version: string }).version;
        const license = ["LICENSE", "LICENSE.md", "LICENSE.txt"].map((f) => join(dir, f)).find((f) => existsSync(f));
        if (license === undefined) throw new Error(`no LICENSE file in ${name}`);
        return `${name}@${version}\n\n${readFileSync(license, "utf8").trim()}\n`;
      });
      writeFileSync(
        join(cliOut, "THIRD-PARTY-LICENSES.txt"),
        `The tesserae bin (dist/cli/) bundles these packages.\n\n${notices.join("\n---\n\n")}`,
      );
    });
  },
};

export default defineConfig([
  // The library: one output file per source module (no bundling), so dist/ mirrors src/ and the
  // migrations folder sits three levels above dist/stores/drizzle/ as it does above src/.
  {
    entry: ["src/**/*.ts", "!src/cli/**"],
    format: ["esm"],
    dts: true,
    bundle: false,
    // dist/cli/ is the bin's, cleaned by its own build below (the two run at once).
    clean: ["!cli/**"],
    sourcemap: true,
    target: "node20",
    outDir: "dist",
  },
  // The `tesserae` bin: src/cli/bin.ts → dist/cli/bin.js, with its own dependencies bundled
  // (and the commands as chunks beside it, still loaded on first use) and the library external.
  // esbuild keeps the `#!/usr/bin/env node` line and tsup marks the file executable. The
  // bundled CommonJS packages call `require` for Node built-ins, which an ES module lacks: the
  // banner defines it.
  {
    entry: { bin: "src/cli/bin.ts" },
    format: ["esm"],
    dts: false,
    bundle: true,
    splitting: true,
    noExternal: cliBundled,
    esbuildPlugins: [libraryExternal, moduleUrl, licenseNotices],
    banner: {
      js: 'import { createRequire as __tesseraCreateRequire } from "node:module"; const require = __tesseraCreateRequire(import.meta.url);',
    },
    clean: true,
    // No source maps: two thirds of their bytes would be the bundled packages' sources.
    sourcemap: false,
    target: "node20",
    platform: "node",
    outDir: "dist/cli",
  },
]);
