import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deriveKeyRing } from "../../src/stores/cookie/keys.js";
import { nodeCipher, type SealCipher, webCipher } from "../../src/stores/cookie/seal.js";

// Sealing runs inline through node:crypto where the runtime has it, and through Web Crypto
// elsewhere (edge runtimes). A cookie sealed by one server must open on the other: both must
// produce the same bytes from the same keys, and refuse the same forgeries.
const encoder = new TextEncoder();
const ring = await deriveKeyRing(["a-secret-of-at-least-32-characters-AAAA", "b-secret-of-at-least-32-characters-BBBB"]);
const [keyA, keyB] = [ring.current, [...ring.byId.values()][1]!];
const node = nodeCipher as SealCipher;

describe("seal ciphers: node:crypto inline and Web Crypto agree", () => {
  it("Node has the inline path (the request path must not hop to the thread pool)", () => {
    expect(nodeCipher).not.toBeNull();
  });

  it("the same HMAC, and each verifies the other's; a flipped bit, another key or a short MAC does not verify", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), fc.nat(255), async (data, bit) => {
        const a = await node.sign(keyA, data);
        const b = await webCipher.sign(keyA, data);
        expect(a).toEqual(b);
        expect(await node.verify(keyA, b, data)).toBe(true);
        expect(await webCipher.verify(keyA, a, data)).toBe(true);
        const flipped = Uint8Array.from(a);
        flipped[bit % flipped.length]! ^= 1 << (bit % 8);
        expect(await node.verify(keyA, flipped, data)).toBe(false);
        expect(await webCipher.verify(keyA, flipped, data)).toBe(false);
        expect(await node.verify(keyB, a, data)).toBe(false);
        expect(await node.verify(keyA, a.subarray(0, 31), data)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });

  it("AES-GCM: the same ciphertext and tag from the same iv; each opens the other's; tampering, another key or other AAD opens to null", async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 5000 }), fc.string(), fc.nat(), async (body, aadText, at) => {
        const iv = crypto.getRandomValues(new Uint8Array(12));
        const aad = encoder.encode(aadText);
        const a = await node.encrypt(keyA, iv, aad, body);
        const b = await webCipher.encrypt(keyA, iv, aad, body);
        expect(a).toEqual(b);
        expect(a.byteLength).toBe(body.byteLength + 16);
        expect(await webCipher.decrypt(keyA, iv, aad, a)).toEqual(body);
        expect(await node.decrypt(keyA, iv, aad, b)).toEqual(body);
        const tampered = Uint8Array.from(a);
        tampered[at % tampered.length]! ^= 0x80;
        expect(await node.decrypt(keyA, iv, aad, tampered)).toBeNull();
        expect(await webCipher.decrypt(keyA, iv, aad, tampered)).toBeNull();
        expect(await node.decrypt(keyB, iv, aad, a)).toBeNull();
        expect(await node.decrypt(keyA, iv, encoder.encode(`${aadText}x`), a)).toBeNull();
      }),
      { numRuns: 60 },
    );
  });

  it("a sealed body shorter than the tag opens to null on both, never throws", async () => {
    const iv = new Uint8Array(12);
    for (const short of [new Uint8Array(0), new Uint8Array(15)]) {
      expect(await node.decrypt(keyA, iv, new Uint8Array(0), short)).toBeNull();
      expect(await webCipher.decrypt(keyA, iv, new Uint8Array(0), short)).toBeNull();
    }
  });
});
