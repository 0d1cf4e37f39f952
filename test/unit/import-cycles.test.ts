import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** Relative imports of a file, type-only ones included: a type cycle is still two files that must change together. */
function localImports(file: string): string[] {
  const code = readFileSync(file, "utf8");
  return [...code.matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms)].map((m) =>
    resolve(dirname(file), (m[1] as string).replace(/\.js$/, ".ts")),
  );
}

/** Every cycle of the import graph, each reported once as the path that closes it. */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next].map((f) => relative(root, f)));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

describe("import graph", () => {
  it("the detector finds a cycle when there is one", () => {
    // keys.ts and seal.ts importing each other: the shape before issue 13, point 7.
    const [keys, seal, errors] = ["src/stores/cookie/keys.ts", "src/stores/cookie/seal.ts", "src/errors.ts"].map((f) =>
      join(root, f),
    );
    const graph = new Map([
      [keys as string, [seal as string, errors as string]],
      [seal as string, [keys as string]],
      [errors as string, []],
    ]);
    expect(cycles(graph)).toEqual([["src/stores/cookie/keys.ts", "src/stores/cookie/seal.ts", "src/stores/cookie/keys.ts"]]);
  });

  it("src/ has no import cycle (type-only imports included)", () => {
    const files = sourceFiles(join(root, "src"));
    expect(cycles(new Map(files.map((f) => [f, localImports(f)])))).toEqual([]);
  });
});
