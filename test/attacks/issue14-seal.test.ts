/**
 * Issue 14 attack on sealing inline through node:crypto (and base64url through Buffer): a
 * cookie-cache snapshot or a cookie-store value sealed by a Node server must open on an edge
 * runtime (Web Crypto, no Buffer, no node:zlib) and the reverse, with the same refusals. The
 * "edge" copy of the library is the same source imported again while `process.getBuiltinModule`
 * and `Buffer` are hidden, so its module-level choice falls on the portable paths.
 */
import { describe, expect, it, vi } from "vitest";
import * as z from "zod";
import * as nodeLib from "../../src/index.js";
import * as nodeSeal from "../../src/stores/cookie/seal.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { countingStore } from "../helpers/counting-store.js";

type Lib = typeof nodeLib;
type Seal = typeof nodeSeal;
type CookieStoreModule = typeof import("../../src/stores/cookie/index.js");

const SECRET = "issue14-seal-cookie-cache-secret-0123456789";
const schema = z.object({ userId: z.string().optional(), note: z.string().optional() });

/** The library as an edge runtime loads it: no node:crypto, node:zlib nor Buffer at import time. */
async function edgeCopy(): Promise<{ lib: Lib; seal: Seal; cookie: CookieStoreModule }> {
  const proc = process as unknown as { getBuiltinModule?: unknown };
  const g = globalThis as { Buffer?: unknown };
  const saved = { getBuiltinModule: proc.getBuiltinModule, Buffer: g.Buffer };
  vi.resetModules();
  proc.getBuiltinModule = undefined;
  g.Buffer = undefined;
  try {
    const seal = (await import("../../src/stores/cookie/seal.js")) as Seal;
    const lib = (await import("../../src/index.js")) as Lib;
    const cookie = (await import("../../src/stores/cookie/index.js")) as CookieStoreModule;
    return { lib, seal, cookie };
  } finally {
    proc.getBuiltinModule = saved.getBuiltinModule;
    g.Buffer = saved.Buffer;
  }
}

const edge = await edgeCopy();

describe("issue 14 sealing: a Node server and an edge server open each other's values", () => {
  it("the edge copy really runs the portable paths, the Node copy the inline ones", () => {
    expect(edge.seal.nodeCipher).toBeNull();
    expect(edge.seal.nodeDeflate).toBeNull();
    expect(nodeSeal.nodeCipher).not.toBeNull();
  });

  it("a cookie-cache snapshot sealed on either opens on the other with no store call; a tampered one on neither", async () => {
    const map = memoryStore();
    const counted = countingStore(map);
    const on = (lib: Lib) =>
      lib.defineSession({
        schema,
        store: counted.store,
        cookie: { secure: false, name: "sid" },
        cookieCache: { maxAge: "30s", secrets: SECRET },
      });
    const node = on(nodeLib);
    const edgeSessions = on(edge.lib);
    for (const [writer, reader] of [
      [node, edgeSessions],
      [edgeSessions, node],
    ] as const) {
      const s = await writer.load(null);
      s.set("userId", "u1");
      s.set("note", "é\u{1F600}".repeat(200));
      const header = (await s.commit()).map((c) => c.split(";")[0]).join("; ");
      expect(header).toContain("sid.cache=v2.2.");
      counted.reset();
      const read = await reader.load(header);
      expect([read.get("userId"), read.get("note")]).toEqual(["u1", "é\u{1F600}".repeat(200)]);
      expect(counted.calls.get).toBe(0);
      const value = header.split("sid.cache=")[1] as string;
      // One character of the payload changed: the MAC fails on both; the store decides.
      const at = 40;
      const flipped = value.slice(0, at) + (value[at] === "A" ? "B" : "A") + value.slice(at + 1);
      const tampered = header.replace(value, flipped);
      for (const m of [node, edgeSessions]) {
        counted.reset();
        expect((await m.load(tampered)).get("userId")).toBe("u1");
        expect(counted.calls.get).toBe(1);
      }
    }
  });

  it("a compressed cookie-store value sealed on either opens on the other (deflate-raw through node:zlib vs CompressionStream)", async () => {
    const on = (lib: Lib, cookie: CookieStoreModule) =>
      lib.defineSession({
        schema,
        store: cookie.cookieStore({ secrets: SECRET, compress: true } as never),
        cookie: { secure: false, name: "c" },
      });
    const node = on(nodeLib, await import("../../src/stores/cookie/index.js"));
    const edgeSessions = on(edge.lib, edge.cookie);
    for (const [writer, reader] of [
      [node, edgeSessions],
      [edgeSessions, node],
    ] as const) {
      const s = await writer.load(null);
      s.set("note", "abc".repeat(300));
      const header = (await s.commit()).map((c) => c.split(";")[0]).join("; ");
      expect(header).toMatch(/^c=v2\.[13]\./);
      expect((await reader.load(header)).get("note")).toBe("abc".repeat(300));
    }
  });

  it("hostile values never throw on either path: wrong types, MACs of other lengths, short bodies, 4096 and 4097 characters", async () => {
    const { deriveKeyRing } = await import("../../src/stores/cookie/keys.js");
    const ring = await deriveKeyRing([SECRET]);
    const mac43 = "A".repeat(43);
    const id = ring.current.id;
    const values: unknown[] = [
      undefined,
      null,
      42,
      { toString: () => "v2.2.x" },
      `v2.2.${id}.AAAA.${mac43}`,
      `v2.2.${id}.AAAA.${"A".repeat(42)}`,
      `v2.2.${id}.AAAA.${"A".repeat(44)}`,
      `v2.2.${id}.A.${mac43}`,
      `v2.2.${id}.${"A".repeat(4096 - 58)}.${mac43}`,
      `v2.2.${id}.${"A".repeat(4097 - 58)}.${mac43}`,
      `v2.2.${id}.${"\u0000".repeat(10)}.${mac43}`,
    ];
    for (const seal of [nodeSeal, edge.seal]) {
      for (const value of values) {
        await expect(seal.openSealed(value as string, "sid", ring, true, null)).resolves.toBeNull();
      }
      // A genuine MAC over a body shorter than iv + tag: refused after the MAC, not thrown.
      const short = await seal.sealBody(ring.current, "sid", 0, new Uint8Array([0x0a]));
      const asEncrypted = short.replace("v2.0.", "v2.2.");
      await expect(seal.openSealed(asEncrypted, "sid", ring, true, null)).resolves.toBeNull();
      for (const cipher of [nodeSeal.nodeCipher, edge.seal.webCipher]) {
        if (cipher === null) continue;
        for (const length of [0, 1, 31, 33, 64]) {
          await expect(cipher.verify(ring.current, new Uint8Array(length), new Uint8Array(8))).resolves.toBe(false);
        }
        await expect(cipher.decrypt(ring.current, new Uint8Array(12), new Uint8Array(0), new Uint8Array(5))).resolves.toBeNull();
      }
    }
  });
});
