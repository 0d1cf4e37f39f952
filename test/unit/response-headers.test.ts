import { describe, expect, it } from "vitest";
import { SESSION_CACHE_CONTROL, withSessionHeaders } from "../../src/index.js";

describe("withSessionHeaders", () => {
  it("a response with a session cookie gets private, no-store whatever it had (issue 12.2)", () => {
    expect(SESSION_CACHE_CONTROL).toBe("private, no-store");
    const upstream = new Response("page", { headers: { "Cache-Control": "public, max-age=600, s-maxage=31536000" } });
    const response = withSessionHeaders(upstream, ["tessera=t; Path=/; HttpOnly"]);
    expect(response.headers.get("Cache-Control")).toBe("private, no-store");
    expect(response.headers.get("Vary")).toBe("Cookie");
  });

  it("a response without a session cookie keeps the app's Cache-Control and gets Vary: Cookie", () => {
    const upstream = new Response("page", { headers: { "Cache-Control": "public, max-age=600", Vary: "Accept" } });
    const response = withSessionHeaders(upstream, []);
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=600");
    expect(response.headers.get("Vary")).toBe("Accept, Cookie");
  });
});
