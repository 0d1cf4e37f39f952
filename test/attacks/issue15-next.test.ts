/**
 * Attack on issue 15.5 through Next's proxy (`sessionMiddleware`): the legacy cookie claimed at
 * the proxy, and what the page rendered behind it (a rewrite) reads in the same request.
 */
import { createRequire } from "node:module";
import { NextRequest, NextResponse } from "next/server.js";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { sessionMiddleware } from "../../src/adapters/next.js";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "issue15 next attack secret";
const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;
const schema = z.object({ userId: z.string().optional() });

function setup() {
  const sessions = defineSession({
    schema,
    store: memoryStore(),
    legacy: expressSessionCookie({ secrets: SECRET, followSeconds: 0 }),
  });
  return sessions;
}

describe("Next proxy: the legacy cookie", () => {
  it("claims it at the proxy: one Tessera cookie, the legacy one cleared, no-store; a replay reaches nothing", async () => {
    const sessions = setup();
    await sessions.importLegacy({ sid: "proxy", data: { userId: "u_proxy" }, expiresAt: null });
    const seen: (string | null)[] = [];
    const proxy = sessionMiddleware(sessions, {
      response: (_request, session) => {
        seen.push(session.get("userId") ?? null);
        return NextResponse.next();
      },
    });
    const request = () =>
      new NextRequest("https://shop.example/", { headers: { cookie: `theme=dark; ${legacyCookie("proxy")}` } });
    const response = await proxy(request());
    const cookies = response.headers.getSetCookie();
    expect(cookies.filter((value) => /^__Host-sid=[A-Za-z0-9_-]{43};/.test(value))).toHaveLength(1);
    expect(cookies.filter((value) => /^connect\.sid=;/.test(value))).toHaveLength(1);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
    await proxy(request());
    expect(seen).toEqual(["u_proxy", null]);
  });

  it("a rewrite behind the proxy reads the new token and no longer the legacy cookie", async () => {
    const sessions = setup();
    await sessions.importLegacy({ sid: "rewrite", data: { userId: "u_rewrite" }, expiresAt: null });
    const proxy = sessionMiddleware(sessions, {
      response: (request) => NextResponse.rewrite(new URL("/internal", request.url)),
    });
    const response = await proxy(
      new NextRequest("https://shop.example/", { headers: { cookie: `theme=dark; ${legacyCookie("rewrite")}` } }),
    );
    const forwarded = response.headers.get("x-middleware-request-cookie") ?? "";
    const token = /__Host-sid=([A-Za-z0-9_-]{43})/.exec(forwarded)?.[1];
    expect(token).toBeDefined();
    expect(forwarded).not.toContain("connect.sid");
    expect(forwarded).toContain("theme=dark");
    expect((await sessions.load(`__Host-sid=${token}`)).get("userId")).toBe("u_rewrite");
  });
});
