import SuperJSON from "superjson";
import { describe, expect, it } from "vitest";
import { decodeEntry, EncodeFailure, encodeValue } from "../../src/codec.js";
import type { StoredEntry } from "../../src/store.js";

const superjson = new SuperJSON();

describe("codec", () => {
  // Scalars and top-level Dates skip superjson's walk; what they store must be what it would store.
  it.each([
    ["a string", "plain"],
    ["an empty string", ""],
    ["true", true],
    ["null", null],
    ["an integer", 42],
    ["a float", 0.1],
    ["NaN", Number.NaN],
    ["-0", -0],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a Date", new Date(Date.UTC(2026, 10, 28, 12, 0, 0, 7))],
    ["an invalid Date", new Date(Number.NaN)],
    ["undefined", undefined],
    ["a bigint", 10n],
    ["an object with a Date", { at: new Date(0), n: 1 }],
    ["a Set", new Set(["a"])],
  ])("%s encodes as superjson does and decodes back", (_, value) => {
    const encoded = encodeValue(value);
    expect(encoded).not.toBeInstanceOf(EncodeFailure);
    const { entry, bytes } = encoded as { entry: StoredEntry; bytes: number };
    const expected = superjson.serialize(value);
    expect(entry).toEqual(expected.meta === undefined ? { json: expected.json } : expected);
    expect(bytes).toBe(Buffer.byteLength(JSON.stringify(entry)));
    const decoded = decodeEntry(JSON.parse(JSON.stringify(entry)) as StoredEntry);
    expect(decoded).toEqual(superjson.deserialize(JSON.parse(JSON.stringify(expected))));
  });

  it("R44: a string holding U+0000 is refused, at the top level and nested", () => {
    expect(encodeValue("a\u0000b")).toBeInstanceOf(EncodeFailure);
    expect(encodeValue({ note: "a\u0000b" })).toBeInstanceOf(EncodeFailure);
  });

  it("a stored Date entry with a malformed string decodes to an invalid Date (the schema then rejects it)", () => {
    const decoded = decodeEntry({ json: "not a date", meta: { values: ["Date"], v: 1 } });
    expect(decoded).toBeInstanceOf(Date);
    expect(Number.isNaN((decoded as Date).getTime())).toBe(true);
  });
});
