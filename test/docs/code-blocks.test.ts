import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkBlocks, checkDocs, type DocBlockError, docFiles, extractBlocks, formatError } from "./doc-blocks.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Every ```ts / ```tsx / ```typescript block of README.md and docs/*.md compiles as a standalone
 * module against the package (issue 15.6); "```ts fragment" marks an intentional excerpt.
 * `npm run check:docs` runs this file alone.
 */
describe("documentation code blocks compile (issue 15.6)", { timeout: 120_000 }, () => {
  const files = docFiles(root);
  const { blocks, errors } = checkDocs(root, files);

  it("finds the usage blocks of README.md and docs/*.md", () => {
    expect(files).toContain("README.md");
    expect(files).toContain("docs/adapters.md");
    expect(blocks.filter((block) => block.file === "README.md").length).toBeGreaterThan(0);
    expect(blocks.filter((block) => block.file === "docs/adapters.md").length).toBeGreaterThanOrEqual(5);
  });

  it.each(files)("%s: every usage block compiles", (file) => {
    const own = errors.filter((error: DocBlockError) => error.file === file).map(formatError);
    expect(own, own.join("\n")).toEqual([]);
  });
});

describe("the doc-block checker itself", { timeout: 60_000 }, () => {
  const markdown = [
    "# t", // 1
    "", // 2
    "```ts", // 3
    'import { defineSession } from "tesserae";', // 4
    'import { memoryStore } from "tesserae/memory";', // 5
    'import * as z from "zod";', // 6
    "const sessions = defineSession({ schema: z.object({ n: z.number() }), store: memoryStore() });", // 7
    "declare const request: Request;", // 8
    "const session = await sessions.load(request);", // 9
    'session.set("n", "three");', // 10: a string where the schema says number
    "```", // 11
    "", // 12
    "```ts fragment", // 13
    "session.set(whatever);", // 14: not checked
    "```", // 15
    "", // 16
    "- a list item:", // 17
    "", // 18
    "  ```typescript", // 19
    '  import { notExported } from "tesserae";', // 20
    "  ```", // 21
    "", // 22
    "```sh", // 23
    "npm run not-typescript", // 24
    "```", // 25
  ].join("\n");

  it("checks ts and typescript blocks (indented ones too), skips fragments and other languages", () => {
    const blocks = extractBlocks("t.md", markdown);
    expect(blocks.map((block) => [block.line, block.lang])).toEqual([
      [3, "ts"],
      [19, "ts"],
    ]);
    expect(blocks[1]?.code).toBe('import { notExported } from "tesserae";\n');
  });

  it("reports a wrong call and a missing export at their Markdown lines, against the real API", () => {
    const errors = checkBlocks(root, extractBlocks("t.md", markdown));
    expect(errors.map((error) => [error.line, error.message.split(":")[0]])).toEqual([
      [10, "TS2345"],
      [20, "TS2305"],
    ]);
    expect(formatError(errors[1] as DocBlockError)).toMatch(
      /^t\.md:20: TS2305: Module '"tesserae"' has no exported member 'notExported'/,
    );
  });

  it("refuses a TypeScript fence it does not understand instead of skipping it", () => {
    expect(() => extractBlocks("t.md", "```ts title=x\nconst a = 1;\n```\n")).toThrow(/t\.md:1: the fence "ts title=x"/);
  });
});
