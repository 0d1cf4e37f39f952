import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromBase64Url, fromBase64UrlPortable, toBase64Url, toBase64UrlPortable } from "../../src/stores/cookie/base64url.js";

// Node's Buffer codes base64url where the runtime has it; the portable code runs elsewhere. A
// cookie written by one must read the same on the other, and both must refuse the same texts:
// Buffer alone would skip characters outside the alphabet.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const hostile = ["=", "+", "/", " ", "\u0000", ".", "\ud800", "é", "%", "\n"];

describe("base64url: the Buffer path and the portable path agree", () => {
  it("encode: the same text for any bytes, and it decodes back on both", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toBe(toBase64UrlPortable(bytes));
        expect(fromBase64Url(text)).toEqual(bytes);
        expect(fromBase64UrlPortable(text)).toEqual(bytes);
      }),
    );
  });

  it("encode a view into a larger buffer: only the view's bytes", () => {
    const backing = Uint8Array.from([1, 2, 3, 4, 5, 6, 7]);
    expect(toBase64Url(backing.subarray(2, 5))).toBe(toBase64UrlPortable(Uint8Array.from([3, 4, 5])));
  });

  it("decode: the same bytes or the same null for any text over the alphabet and hostile characters", () => {
    const char = fc.oneof(fc.constantFrom(...ALPHABET), fc.constantFrom(...hostile));
    fc.assert(
      fc.property(fc.array(char, { maxLength: 200 }), (chars) => {
        const text = chars.join("");
        expect(fromBase64Url(text)).toEqual(fromBase64UrlPortable(text));
      }),
      { numRuns: 500 },
    );
  });

  it("a length no encoder produces, padding and characters outside the alphabet are null", () => {
    for (const text of ["A", "AAAAA", "AA==", "A+B/", "AB CD", "AB\u0000C", "ABé"]) {
      expect(fromBase64Url(text)).toBeNull();
      expect(fromBase64UrlPortable(text)).toBeNull();
    }
  });

  it("decoded bytes own their memory (not a view into Buffer's shared pool)", () => {
    const bytes = fromBase64Url("AQID") as Uint8Array;
    expect(bytes.byteOffset).toBe(0);
    expect(bytes.buffer.byteLength).toBe(3);
  });
});
