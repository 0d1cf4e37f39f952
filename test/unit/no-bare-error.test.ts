import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "../..");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith(".ts") ? [join(dir, entry.name)] : [],
  );
}

/** `new Error(`, `new TypeError(`, … : the built-in classes, which carry no `code` (STYLE 6). */
const BARE = /\bnew\s+(Error|TypeError|RangeError|SyntaxError)\s*\(/g;

const bareErrors = (code: string) => [...code.matchAll(BARE)].length;

describe("no bare Error in src/ (issue 13.6, STYLE 6)", () => {
  it("the check sees a bare Error", () => {
    expect(bareErrors('reject(new Error("cache timeout"))')).toBe(1);
    expect(bareErrors('throw new SessionStoreError("down")')).toBe(0);
  });

  it("every error src/ makes is a TesseraError subclass with a code (or a named class of its own)", () => {
    const found = sourceFiles(join(root, "src"))
      .filter((file) => bareErrors(readFileSync(file, "utf8")) > 0)
      .map((file) => relative(root, file));
    expect(found).toEqual([]);
  });
});
