/**
 * Every type that appears in a public signature is exported (issue 13.6): over the emitted
 * declarations (`npm run build` first, as CI does), each type named by an entry point's exports,
 * or by those types in turn, must itself be exported from some entry point, so a user can name
 * what they are handed (`SessionCache`, `StoreStats`, `CookieSessionStore` were not).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { declarationProgram, declarationsRun, dist, entries, SKIP_REASON } from "../helpers/declarations.js";

/** The names every entry point exports as runtime values (classes among them are constructible). */
async function valueExports(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const [, file] of entries) {
    for (const name of Object.keys(await import(file.replace(/\.d\.ts$/, ".js")))) names.add(name);
  }
  return names;
}

/**
 * The types named in the public surface of `files` (their exports, then every type those name, in
 * full) declared in one of them or a file they import from this package, each as `name (file)`,
 * that no entry point exports.
 */
function unexportedPublicTypes(files: readonly string[], base: string, values: ReadonlySet<string>): string[] {
  const own = (fileName: string) => fileName.startsWith(base) && !fileName.includes("node_modules");
  const prog = declarationProgram(files);
  const checker = prog.getTypeChecker();
  const resolve = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exported = new Set<ts.Symbol>();
  const roots: ts.Symbol[] = [];
  for (const file of files) {
    const source = prog.getSourceFile(file);
    const moduleSymbol = source && checker.getSymbolAtLocation(source);
    if (!moduleSymbol) throw new Error(`no declarations at ${file}`);
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      const target = resolve(symbol);
      exported.add(target);
      roots.push(target);
    }
  }
  const seen = new Set<ts.Symbol>();
  const missing = new Set<string>();
  const visitSymbol = (symbol: ts.Symbol) => {
    if (seen.has(symbol)) return;
    seen.add(symbol);
    for (const declaration of symbol.declarations ?? []) {
      if (!own(declaration.getSourceFile().fileName)) continue;
      if (!exported.has(symbol) && symbol.flags & (ts.SymbolFlags.Type | ts.SymbolFlags.Class)) {
        missing.add(`${symbol.getName()} (${relative(base, declaration.getSourceFile().fileName)})`);
      }
      visitNode(declaration);
    }
  };
  const visitNode = (node: ts.Node) => {
    // A class exported as a type only (`export type { Session }`) cannot be constructed by a
    // user: its constructor's parameters are no public signature. (Private members carry no
    // type in a .d.ts.)
    if (ts.isConstructorDeclaration(node) && ts.isClassDeclaration(node.parent) && !values.has(node.parent.name?.text ?? "")) {
      return;
    }
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const name = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
      const symbol = checker.getSymbolAtLocation(ts.isQualifiedName(name) ? name.right : name);
      if (symbol && !(symbol.flags & ts.SymbolFlags.TypeParameter)) visitSymbol(resolve(symbol));
    } else if (ts.isImportTypeNode(node)) {
      const type = checker.getTypeFromTypeNode(node);
      const symbol = type.aliasSymbol ?? type.getSymbol();
      if (symbol) visitSymbol(resolve(symbol));
    }
    ts.forEachChild(node, visitNode);
  };
  for (const symbol of roots) visitSymbol(symbol);
  return [...missing].sort();
}

const runs = declarationsRun;

describe.skipIf(!runs)(`public types (issue 13.6)${runs ? "" : SKIP_REASON}`, () => {
  it("dist/ holds the declarations of every entry point (run `npm run build` first)", () => {
    for (const [subpath, file] of entries) expect(existsSync(file), `${subpath}: ${file}`).toBe(true);
  });

  it("the check finds a type named by an export that no entry point exports", () => {
    // An entry whose `open` returns a `Handle` declared in another file and not re-exported.
    const dir = mkdtempSync(join(tmpdir(), "tessera-public-types-"));
    try {
      writeFileSync(join(dir, "handle.d.ts"), "export interface Handle { close(): void }\n");
      writeFileSync(
        join(dir, "index.d.ts"),
        'import type { Handle } from "./handle.js";\nexport interface Shown { id: string }\nexport declare function open(): Handle & Shown;\n',
      );
      expect(unexportedPublicTypes([join(dir, "index.d.ts")], dir, new Set(["open"]))).toEqual(["Handle (handle.d.ts)"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("every type named in an entry point's exported declarations is exported from some entry point", async () => {
    const values = await valueExports();
    expect(
      unexportedPublicTypes(
        entries.map(([, file]) => file),
        dist,
        values,
      ),
    ).toEqual([]);
  });
});
