import SuperJSON from "superjson";
import { describe, expect, it } from "vitest";
import { decodeEntry, EncodeFailure, encodeValue, MAX_DEPTH } from "../../src/codec.js";
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
    // What every store holds: superjson's output as JSON text writes it (an invalid Date's json is null).
    const stored = JSON.parse(JSON.stringify(expected.meta === undefined ? { json: expected.json } : expected));
    expect(JSON.parse(JSON.stringify(entry))).toEqual(stored);
    expect(bytes).toBe(Buffer.byteLength(JSON.stringify(entry)));
    const decoded = decodeEntry(JSON.parse(JSON.stringify(entry)) as StoredEntry);
    expect(decoded).toEqual(superjson.deserialize(JSON.parse(JSON.stringify(expected))));
  });

  it("the entry is a plain JSON copy: a class instance changed after encoding, or its toJSON, changes nothing stored", () => {
    class Profile {
      constructor(public name: string) {}
    }
    const profile = new Profile("ok");
    const encoded = encodeValue({ profile, money: { toJSON: () => "12.50" } }) as { entry: StoredEntry; bytes: number };
    profile.name = "\ud800".repeat(1000);
    expect(encoded.entry).toEqual({ json: { profile: { name: "ok" }, money: "12.50" } });
    expect(encoded.bytes).toBe(Buffer.byteLength(JSON.stringify(encoded.entry)));
    expect(structuredClone(encoded.entry)).toEqual(encoded.entry); // no function left inside
  });

  it("values nested deeper than MAX_DEPTH are refused (a 7 KB JSON body could exhaust a walker's stack); MAX_DEPTH itself is fine", () => {
    const nested = (depth: number) => JSON.parse(`${"[".repeat(depth)}1${"]".repeat(depth)}`) as unknown;
    expect(encodeValue(nested(MAX_DEPTH))).not.toBeInstanceOf(EncodeFailure);
    expect(encodeValue(nested(MAX_DEPTH + 1))).toBeInstanceOf(EncodeFailure);
    expect(encodeValue(nested(3500))).toBeInstanceOf(EncodeFailure);
    // Brackets inside strings are text, not nesting.
    expect(encodeValue({ text: "[".repeat(10_000) })).not.toBeInstanceOf(EncodeFailure);
  });

  it("B3: a lone surrogate or NUL is found past escaped backslashes and in 1 MB of escapes, in linear time", () => {
    expect(encodeValue("\\u0000 and \\ud800")).not.toBeInstanceOf(EncodeFailure);
    expect(encodeValue(`${"\\".repeat(500_000)}\ud800`)).toBeInstanceOf(EncodeFailure);
    expect(encodeValue(["\u0001".repeat(200_000), "x\u0000"])).toBeInstanceOf(EncodeFailure);
    expect(encodeValue({ ["\udc00"]: 1 })).toBeInstanceOf(EncodeFailure);
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
