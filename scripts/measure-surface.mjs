#!/usr/bin/env node
/**
 * The closing note's measures of issue 13, for the checkout in the current directory (or
 * --root <dir>), as a markdown table anyone can rerun on any commit:
 *
 *   - lines of src/session.ts, src/manager.ts, src/define.ts (as `wc -l` counts them);
 *   - lines in src/ that mention `sealer` (as `grep -rn sealer src` finds them), per file;
 *   - public symbols per entry point of package.json "exports": runtime exports
 *     (Object.keys of the built module) and type-only ones (TypeScript's exports of the emitted
 *     .d.ts, less the runtime ones). Needs `npm run build` first;
 *   - with --installed-size: the packed tarball installed into a new project without peers
 *     (npm pack; npm init -y; npm install <tgz> --legacy-peer-deps): packages in node_modules
 *     and `du -sk node_modules`. Needs the registry (or npm's cache) and a build.
 *
 * Usage: npm run build && node scripts/measure-surface.mjs [--installed-size] [--names] [--json] [--root <dir>]
 * --names lists each entry point's symbols after the tables; --json prints the raw measures.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const rootIndex = args.indexOf("--root");
const root = resolve(rootIndex === -1 ? process.cwd() : args[rootIndex + 1]);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

const CORE_FILES = ["src/session.ts", "src/manager.ts", "src/define.ts"];

/** Lines as `wc -l` counts them: newline characters. */
function lineCount(file) {
  const text = readFileSync(file, "utf8");
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

function sourceFiles(dir) {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** `grep -rn sealer src`: case-sensitive, one count per matching line. */
function sealerLines() {
  const perFile = [];
  for (const file of sourceFiles(join(root, "src"))) {
    const count = readFileSync(file, "utf8")
      .split("\n")
      .filter((line) => line.includes("sealer")).length;
    if (count > 0) perFile.push({ file: relative(root, file), count });
  }
  return { perFile, total: perFile.reduce((sum, { count }) => sum + count, 0) };
}

function entryPoints() {
  return Object.entries(pkg.exports)
    .filter(([subpath]) => subpath !== "./package.json")
    .map(([subpath, value]) => {
      const js = typeof value === "string" ? value : (value.import ?? value.default);
      const types = typeof value === "string" ? value.replace(/\.js$/, ".d.ts") : (value.types ?? js.replace(/\.js$/, ".d.ts"));
      return {
        name: subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
        js: join(root, js),
        types: join(root, types),
      };
    });
}

/** Runtime exports from the built module, type-only ones from TypeScript's view of its .d.ts. */
async function publicSymbols() {
  const entries = entryPoints();
  for (const { js, types } of entries) {
    if (!existsSync(js) || !existsSync(types))
      throw new Error(`${relative(root, js)} or its .d.ts is missing: run npm run build first`);
  }
  const ts = createRequire(join(root, "package.json"))("typescript");
  const program = ts.createProgram(
    entries.map((entry) => entry.types),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      skipLibCheck: true,
      types: [],
      noEmit: true,
    },
  );
  const checker = program.getTypeChecker();
  const result = [];
  for (const entry of entries) {
    const runtime = Object.keys(await import(pathToFileURL(entry.js).href)).sort();
    const source = program.getSourceFile(entry.types);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`TypeScript finds no module in ${relative(root, entry.types)}`);
    const all = checker.getExportsOfModule(moduleSymbol).map((symbol) => symbol.getName());
    const values = new Set(runtime);
    const typeOnly = all.filter((name) => !values.has(name)).sort();
    result.push({ entry: entry.name, runtime, typeOnly });
  }
  return result;
}

const run = (command, argv, cwd) => execFileSync(command, argv, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/** Every package directory under node_modules (scoped and nested ones too), by name. */
function installedPackages(nodeModules) {
  const names = [];
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith(".")) continue;
      const path = join(dir, entry.name);
      if (entry.name.startsWith("@")) {
        for (const scoped of readdirSync(path, { withFileTypes: true })) {
          if (scoped.isDirectory()) visit(join(path, scoped.name), `${entry.name}/${scoped.name}`);
        }
      } else visit(path, entry.name);
    }
  };
  const visit = (path, name) => {
    if (!existsSync(join(path, "package.json"))) return;
    names.push(name);
    walk(join(path, "node_modules"));
  };
  walk(nodeModules);
  return names.sort();
}

/** npm pack, then a fresh `npm init -y` project installing only the tarball (no peers). */
function installedSize() {
  const work = mkdtempSync(join(tmpdir(), "tessera-size-"));
  try {
    const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], root));
    const project = join(work, "app");
    run("mkdir", ["-p", project]);
    run("npm", ["init", "-y"], project);
    run(
      "npm",
      ["install", join(work, packed.filename), "--legacy-peer-deps", "--no-audit", "--no-fund", "--no-package-lock"],
      project,
    );
    const nodeModules = join(project, "node_modules");
    const packages = installedPackages(nodeModules);
    const kb = Number(run("du", ["-sk", nodeModules]).split(/\s/)[0]);
    const own = Number(run("du", ["-sk", join(nodeModules, ...pkg.name.split("/"))]).split(/\s/)[0]);
    return {
      tarballBytes: packed.size,
      unpackedBytes: packed.unpackedSize,
      packages: packages.length,
      names: packages,
      nodeModulesKb: kb,
      ownKb: own,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function commitOf() {
  try {
    return run("git", ["log", "-1", "--format=%h (%cI)"], root).trim();
  } catch {
    return "(not a git checkout)";
  }
}

const measures = {
  commit: commitOf(),
  lines: Object.fromEntries(CORE_FILES.map((file) => [file, existsSync(join(root, file)) ? lineCount(join(root, file)) : null])),
  srcLines: sourceFiles(join(root, "src"))
    .filter((file) => file.endsWith(".ts"))
    .reduce((sum, file) => sum + lineCount(file), 0),
  sealer: sealerLines(),
  symbols: await publicSymbols(),
  installed: flag("--installed-size") ? installedSize() : null,
};

if (flag("--json")) {
  console.log(JSON.stringify(measures, null, 2));
} else {
  const out = [];
  const table = (head, rows) => {
    out.push(`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`);
    for (const row of rows) out.push(`| ${row.join(" | ")} |`);
    out.push("");
  };
  out.push(`Measured at \`${measures.commit}\` by scripts/measure-surface.mjs`, "");
  table(
    ["file", "lines"],
    [
      ...Object.entries(measures.lines).map(([file, n]) => [`\`${file}\``, n ?? "(absent)"]),
      ["all of `src/**/*.ts`", measures.srcLines],
    ],
  );
  table(
    ["lines mentioning `sealer`", "count"],
    [...measures.sealer.perFile.map(({ file, count }) => [`\`${file}\``, count]), ["**total**", `**${measures.sealer.total}**`]],
  );
  const sum = (key) => measures.symbols.reduce((n, s) => n + s[key].length, 0);
  table(
    ["entry point", "runtime exports", "type-only exports", "total"],
    [
      ...measures.symbols.map((s) => [
        `\`${s.entry}\``,
        s.runtime.length,
        s.typeOnly.length,
        s.runtime.length + s.typeOnly.length,
      ]),
      ["**all entry points**", sum("runtime"), sum("typeOnly"), sum("runtime") + sum("typeOnly")],
    ],
  );
  if (measures.installed) {
    const i = measures.installed;
    table(
      ["installed in a new project (`npm install <tgz>`, no peers)", "value"],
      [
        ["tarball (packed)", `${(i.tarballBytes / 1024).toFixed(1)} kB`],
        ["tarball (unpacked)", `${(i.unpackedBytes / 1024).toFixed(1)} kB`],
        ["packages in node_modules (the library included)", i.packages],
        ["`du -sk node_modules`", `${i.nodeModulesKb} kB`],
        [`of which \`${pkg.name}\` itself`, `${i.ownKb} kB`],
      ],
    );
    out.push(`Packages: ${i.names.map((name) => `\`${name}\``).join(", ")}`, "");
  }
  if (flag("--names")) {
    for (const s of measures.symbols) {
      out.push(`- \`${s.entry}\` runtime: ${s.runtime.join(", ") || "(none)"}`);
      out.push(`- \`${s.entry}\` type-only: ${s.typeOnly.join(", ") || "(none)"}`);
    }
    out.push("");
  }
  console.log(out.join("\n"));
}
