import { describe, expect, it } from "vitest";
import { countUtf8, utf8Length } from "../../src/utf8.js";

describe("utf8Length", () => {
  // The portable count must agree with Node's, or maxBytes would differ between runtimes.
  it.each([
    ["empty", ""],
    ["ASCII", '{"json":"abc"}'],
    ["two-byte", "é".repeat(7)],
    ["three-byte", "✓€"],
    ["surrogate pairs", "😀𝄞a"],
    ["JSON of a lone surrogate (escaped by JSON.stringify)", JSON.stringify("\ud800x")],
  ])("%s: the portable count equals Buffer.byteLength", (_, text) => {
    expect(countUtf8(text)).toBe(Buffer.byteLength(text, "utf8"));
    expect(utf8Length(text)).toBe(Buffer.byteLength(text, "utf8"));
  });
});
