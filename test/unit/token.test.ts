import { describe, expect, it, vi } from "vitest";
import { createToken, hashToken, isWellFormedToken, sessionTag } from "../../src/token.js";

describe("tokens", () => {
  it("R1/R2: 32 random bytes as 43 base64url characters, never repeating", () => {
    const tokens = new Set(Array.from({ length: 10_000 }, createToken));
    expect(tokens.size).toBe(10_000);
    for (const token of [...tokens].slice(0, 100)) {
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token, "base64url")).toHaveLength(32);
    }
  });

  it("R3: a token carries no time or counter: tokens made back to back share no prefix", () => {
    const [a, b] = [createToken(), createToken()];
    expect(a.slice(0, 6)).not.toBe(b.slice(0, 6));
  });

  it("R4/R5: stores key by sha256(token) in hex", async () => {
    const token = createToken();
    const id = hashToken(token);
    const { createHash } = await import("node:crypto");
    expect(id).toBe(createHash("sha256").update(token).digest("hex"));
  });

  it("R4: runtimes without node:crypto (edge) hash with @noble/hashes to the same ids and tags", async () => {
    const token = createToken();
    const getBuiltinModule = process.getBuiltinModule;
    vi.resetModules();
    try {
      // The module decides at load time; load a copy that sees no node:crypto.
      (process as { getBuiltinModule?: unknown }).getBuiltinModule = undefined;
      const portable = await import("../../src/token.js");
      expect(portable.hashToken(token)).toBe(hashToken(token));
      expect(portable.sessionTag("é✓")).toBe(sessionTag("é✓"));
    } finally {
      process.getBuiltinModule = getBuiltinModule;
      vi.resetModules();
    }
  });

  it("R7: only the exact token shape is well formed", () => {
    const token = createToken();
    expect(isWellFormedToken(token)).toBe(true);
    for (const bad of [token.slice(1), `${token}A`, `${token.slice(0, 42)}=`, `${token.slice(0, 42)}+`, "", "é".repeat(43)]) {
      expect(isWellFormedToken(bad)).toBe(false);
    }
  });

  it("R11: the event tag is short and is neither the token nor a prefix of its hash", async () => {
    const token = createToken();
    const id = hashToken(token);
    const tag = sessionTag(id);
    expect(tag).toMatch(/^[0-9a-f]{12}$/);
    expect(id.startsWith(tag)).toBe(false);
    expect(token.includes(tag)).toBe(false);
  });
});
