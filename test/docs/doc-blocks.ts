import { readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

/**
 * The documentation's usage code, type-checked (issue 15.6). A fenced block whose info string is
 * exactly `ts`, `tsx` or `typescript` claims to be usage: it must compile as a standalone module
 * against the public package (`tesserae`, `tesserae/…`), with top-level await and
 * `declare const x: T;` for what the reader supplies. A block fenced "```ts fragment" is an
 * intentional excerpt and is not checked; nor are blocks in other languages.
 *
 * The package's entry points resolve to their sources (the export map read from package.json,
 * `dist/….d.ts` → `src/….ts`), so the check needs no build and follows the API as it is; the
 * packed-package test (test/packed/) compiles the adapters' examples against the built `.d.ts`.
 */

/** One checked block: where its code starts in the Markdown file (1-based), and the code. */
export interface DocBlock {
  file: string;
  /** The line of the opening fence. */
  line: number;
  lang: "ts" | "tsx";
  code: string;
}

/** A compile error in a block, at its line in the Markdown file. */
export interface DocBlockError {
  file: string;
  line: number;
  message: string;
}

const USAGE = new Map([
  ["ts", "ts"],
  ["typescript", "ts"],
  ["tsx", "tsx"],
] as const);

/**
 * The usage blocks of one Markdown text; `file` is how errors name it. A TypeScript fence with
 * anything but `fragment` after the language (`ts title=x`, `ts fragmnet`) throws: it would
 * otherwise skip the check without anyone deciding so.
 */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})(.*)$/.exec(lines[i] ?? "");
    if (open === null) continue;
    const [, indent = "", fence = "", info = ""] = open;
    const start = i;
    const body: string[] = [];
    // The block ends at a fence of the same character, at least as long, with nothing after it.
    const close = new RegExp(`^\\s*${fence[0] === "`" ? "`" : "~"}{${fence.length},}\\s*$`);
    for (i++; i < lines.length && !close.test(lines[i] ?? ""); i++) {
      const line = lines[i] ?? "";
      body.push(line.startsWith(indent) ? line.slice(indent.length) : line.trimStart());
    }
    const [word = "", ...rest] = info.trim().split(/\s+/);
    const lang = USAGE.get(word as "ts");
    if (lang === undefined) continue;
    if (rest.length > 0 && rest.join(" ") !== "fragment") {
      throw new Error(`${file}:${start + 1}: the fence "${info.trim()}" is neither usage (\`${word}\`) nor "${word} fragment"`);
    }
    if (rest.length === 0) blocks.push({ file, line: start + 1, lang, code: `${body.join("\n")}\n` });
  }
  return blocks;
}

/** `tesserae` and each `tesserae/…` entry point → its source file, from package.json's exports. */
function sourcePaths(root: string): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
    name: string;
    exports: Record<string, string | { types?: string }>;
  };
  const paths: Record<string, string[]> = {};
  for (const [subpath, target] of Object.entries(pkg.exports)) {
    const types = typeof target === "string" ? undefined : target.types;
    if (types === undefined) continue;
    const source = types.replace(/^\.\/dist\//, "./src/").replace(/\.d\.ts$/, ".ts");
    paths[subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`] = [source];
  }
  return paths;
}

/**
 * Type-checks every block as its own module in one program, with the repository's compiler
 * options (strict, `exactOptionalPropertyTypes`, `noUncheckedIndexedAccess`), ESM with Bundler resolution.
 * Returns the errors, each at its Markdown line.
 */
export function checkBlocks(root: string, blocks: DocBlock[]): DocBlockError[] {
  const config = ts.readConfigFile(path.join(root, "tsconfig.json"), ts.sys.readFile);
  if (config.error !== undefined) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, "\n"));
  const raw = config.config as { compilerOptions: Record<string, unknown> };
  const parsed = ts.parseJsonConfigFileContent(
    {
      compilerOptions: {
        ...raw.compilerOptions,
        noEmit: true,
        declaration: false,
        sourceMap: false,
        jsx: "react-jsx",
        // What a Next app's tsconfig (and most bundler setups) says: `next/server` has no export
        // map, so NodeNext would refuse it. NodeNext consumers are covered by test/packed/.
        module: "ESNext",
        moduleResolution: "Bundler",
        moduleDetection: "force",
        paths: sourcePaths(root),
      },
      files: [],
    },
    ts.sys,
    root,
  );
  const { rootDir: _rootDir, outDir: _outDir, ...options } = parsed.options;

  // Each block is a virtual file under the repository (so the root package.json makes it ESM).
  const virtual = new Map<string, DocBlock>();
  for (const block of blocks) {
    const name = path.join(root, ".doc-blocks", `${block.file.replaceAll("/", "_")}-L${block.line}.${block.lang}`);
    virtual.set(name, block);
  }
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => virtual.has(name) || fileExists.call(host, name);
  host.readFile = (name) => virtual.get(name)?.code ?? readFile.call(host, name);
  host.getSourceFile = (name, language, ...rest) => {
    const block = virtual.get(name);
    return block === undefined
      ? getSourceFile.call(host, name, language, ...rest)
      : ts.createSourceFile(name, block.code, language, true, block.lang === "tsx" ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  };
  const program = ts.createProgram([...virtual.keys()], options, host);

  const errors: DocBlockError[] = [];
  for (const [name, block] of virtual) {
    const source = program.getSourceFile(name);
    if (source === undefined) throw new Error(`doc-blocks: ${name} was not part of the program`);
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
    for (const diagnostic of diagnostics) {
      const at = diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line;
      const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n  ");
      errors.push({ file: block.file, line: block.line + 1 + at, message: `TS${diagnostic.code}: ${text}` });
    }
  }
  return errors;
}

/** The Markdown files whose blocks are checked, relative to the root. */
export function docFiles(root: string): string[] {
  const docs = ts.sys.readDirectory(path.join(root, "docs"), [".md"], undefined, undefined, 1);
  return ["README.md", ...docs.map((file) => path.relative(root, file)).sort()];
}

/** Every usage block of `files` (relative to `root`), checked; the errors as `file:line: message`. */
export function checkDocs(root: string, files = docFiles(root)): { blocks: DocBlock[]; errors: DocBlockError[] } {
  const blocks = files.flatMap((file) => extractBlocks(file, readFileSync(path.join(root, file), "utf8")));
  return { blocks, errors: checkBlocks(root, blocks) };
}

export const formatError = (error: DocBlockError) => `${error.file}:${error.line}: ${error.message}`;
