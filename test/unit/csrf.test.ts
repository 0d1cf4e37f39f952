import { describe, expect, it } from "vitest";
import {
  CrossSiteRequestError,
  type CsrfHeaders,
  crossSiteCheck,
  crossSiteRequest,
  isTesseraError,
  SessionConfigError,
  sessionErrorAnswer,
  sessionErrorResponse,
} from "../../src/index.js";

const url = "http://app.example:8080/login";

/** A POST to app.example:8080 with these headers (a Web `Headers`). */
function post(headers: Record<string, string>, method = "POST"): { method: string; headers: Headers; url: string } {
  return { method, headers: new Headers({ host: "app.example:8080", ...headers }), url };
}

describe("crossSiteRequest (Go 1.25 CrossOriginProtection)", () => {
  describe("safe methods pass whatever the headers say", () => {
    it.each(["GET", "HEAD", "OPTIONS"])("%s from another site passes", (method) => {
      const cross = { origin: "https://evil.example", "sec-fetch-site": "cross-site" };
      expect(crossSiteRequest(post(cross, method))).toBe(false);
    });

    // Methods are case-sensitive (RFC 9110 §9.1): "get" is not GET, so it is checked (Go does the same).
    it.each(["get", "head", "options", "Get"])("%s is not a safe method and is checked", (method) => {
      expect(crossSiteRequest(post({ "sec-fetch-site": "cross-site" }, method))).toBe(true);
      expect(crossSiteRequest(post({ "sec-fetch-site": "same-origin" }, method))).toBe(false);
    });

    it.each(["POST", "PUT", "PATCH", "DELETE", "post", "PROPFIND"])("%s is checked", (method) => {
      expect(crossSiteRequest(post({ "sec-fetch-site": "cross-site" }, method))).toBe(true);
    });
  });

  describe("Sec-Fetch-Site decides when present", () => {
    it.each([
      ["same-origin", false],
      ["none", false],
      ["same-site", true],
      ["cross-site", true],
      ["Same-Origin", true],
      ["garbage", true],
      ["same-origin, cross-site", true],
    ])("Sec-Fetch-Site: %s → refused %s", (site, refused) => {
      expect(crossSiteRequest(post({ "sec-fetch-site": site }))).toBe(refused);
    });

    it("a cross-site Sec-Fetch-Site is refused even when Origin matches Host (it cannot be forged by a page)", () => {
      const headers = { "sec-fetch-site": "cross-site", origin: "http://app.example:8080" };
      expect(crossSiteRequest(post(headers))).toBe(true);
    });

    it("same-origin passes even with a foreign Origin (Sec-Fetch-Site wins)", () => {
      expect(crossSiteRequest(post({ "sec-fetch-site": "same-origin", origin: "https://evil.example" }))).toBe(false);
    });

    it("a trusted Origin passes a same-site or cross-site Sec-Fetch-Site", () => {
      const options = { trustedOrigins: ["https://admin.app.example"] };
      for (const site of ["same-site", "cross-site"]) {
        expect(crossSiteRequest(post({ "sec-fetch-site": site, origin: "https://admin.app.example" }), options)).toBe(false);
        expect(crossSiteRequest(post({ "sec-fetch-site": site, origin: "https://other.app.example" }), options)).toBe(true);
        expect(crossSiteRequest(post({ "sec-fetch-site": site }), options)).toBe(true);
      }
    });
  });

  describe("without Sec-Fetch-Site, Origin decides", () => {
    it("no Origin passes (a non-browser client or an old browser's same-origin request)", () => {
      expect(crossSiteRequest(post({}))).toBe(false);
      expect(crossSiteRequest(post({ origin: "" }))).toBe(false);
    });

    it("an Origin whose host and port equal Host passes", () => {
      expect(crossSiteRequest(post({ origin: "http://app.example:8080" }))).toBe(false);
      // Host has no scheme: https with the same host:port is taken as same-origin (Go fails open here too).
      expect(crossSiteRequest(post({ origin: "https://app.example:8080" }))).toBe(false);
      expect(crossSiteRequest(post({ origin: "http://APP.example:8080" }))).toBe(false);
    });

    it.each([
      ["another port", "http://app.example:8081"],
      ["no port (Host has one)", "http://app.example"],
      ["another host", "https://evil.example"],
      ["a suffix of Host", "http://example:8080"],
      ["Host as a prefix", "http://app.example:8080.evil.example"],
      ["a path after the origin", "http://app.example:8080/x"],
      ["user info", "http://evil@app.example:8080"],
      ["no scheme", "app.example:8080"],
      ["Origin: null (sandboxed frame, privacy redirect)", "null"],
      ["two Origin headers joined", "http://app.example:8080, https://evil.example"],
      ["two Origin headers, ours second", "https://evil.example, http://app.example:8080"],
    ])("%s is refused", (_, origin) => {
      expect(crossSiteRequest(post({ origin }))).toBe(true);
    });

    it("Host with a port: the Origin must carry the same port", () => {
      const request = { method: "POST", headers: new Headers({ host: "127.0.0.1:3000" }), url: "http://x/" };
      expect(
        crossSiteRequest({ ...request, headers: new Headers({ host: "127.0.0.1:3000", origin: "http://127.0.0.1:3000" }) }),
      ).toBe(false);
      expect(
        crossSiteRequest({ ...request, headers: new Headers({ host: "127.0.0.1:3000", origin: "http://127.0.0.1:3001" }) }),
      ).toBe(true);
      expect(crossSiteRequest({ ...request, headers: new Headers({ host: "127.0.0.1:3000", origin: "http://127.0.0.1" }) })).toBe(
        true,
      );
    });

    it("an IPv6 Host matches its bracketed Origin", () => {
      const at = (host: string, origin: string) => ({ method: "POST", headers: new Headers({ host, origin }) });
      expect(crossSiteRequest(at("[::1]:3000", "http://[::1]:3000"))).toBe(false);
      expect(crossSiteRequest(at("[::1]", "http://[::1]"))).toBe(false);
      expect(crossSiteRequest(at("[::1]:3000", "http://[::2]:3000"))).toBe(true);
      expect(crossSiteRequest(at("[::1]:3000", "http://[::1]:3001"))).toBe(true);
    });

    it("without a Host header, the URL's host stands in; with neither, any Origin is refused", () => {
      const origin = "http://app.example:8080";
      expect(crossSiteRequest({ method: "POST", headers: new Headers({ origin }), url })).toBe(false);
      expect(crossSiteRequest({ method: "POST", headers: new Headers({ origin: "http://evil.example" }), url })).toBe(true);
      expect(crossSiteRequest({ method: "POST", headers: new Headers({ origin }) })).toBe(true);
      expect(crossSiteRequest({ method: "POST", headers: new Headers({ origin }), url: "not a url" })).toBe(true);
      // HTTP/2's :authority, as Node exposes it.
      expect(crossSiteRequest({ method: "POST", headers: { ":authority": "app.example:8080", origin } })).toBe(false);
    });

    it("a Host header wins over the URL (Go reads Host)", () => {
      const headers = new Headers({ host: "evil.example", origin: "http://app.example:8080" });
      expect(crossSiteRequest({ method: "POST", headers, url })).toBe(true);
    });
  });

  describe("trustedOrigins match exactly: scheme, host and port", () => {
    const options = { trustedOrigins: ["https://admin.example:8443"] };
    it.each([
      ["https://admin.example:8443", false],
      ["http://admin.example:8443", true],
      ["https://admin.example", true],
      ["https://admin.example:8444", true],
      ["https://x.admin.example:8443", true],
      ["https://admin.example:8443/", true],
      ["https://ADMIN.example:8443", true],
    ])("Origin %s → refused %s", (origin, refused) => {
      expect(crossSiteRequest(post({ origin }), options)).toBe(refused);
    });

    it("a default port is written without it, as browsers do", () => {
      const check = crossSiteCheck({ trustedOrigins: ["https://admin.example"] });
      expect(check(post({ origin: "https://admin.example" }))).toBe(false);
      expect(check(post({ origin: "https://admin.example:443" }))).toBe(true);
    });

    it.each([
      ["a trailing slash", "https://admin.example/", "https://admin.example"],
      ["a path", "https://admin.example/app", "https://admin.example"],
      ["an upper-case host", "https://Admin.example", "https://admin.example"],
      ["a default port", "https://admin.example:443", "https://admin.example"],
      ["a query", "https://admin.example?x", "https://admin.example"],
      ["no scheme", "admin.example", undefined],
      ["another scheme", "ftp://admin.example", undefined],
      ["null", "null", undefined],
      ["an empty string", "", undefined],
    ])("an entry with %s is a SessionConfigError at creation", (_, origin, hint) => {
      expect(() => crossSiteCheck({ trustedOrigins: [origin] })).toThrow(SessionConfigError);
      if (hint !== undefined) expect(() => crossSiteCheck({ trustedOrigins: [origin] })).toThrow(hint);
    });
  });

  describe("hostile headers", () => {
    it("a 10 KB Origin is refused, quickly and without echoing it", () => {
      const origin = `http://${"a".repeat(10 * 1024)}.example`;
      expect(crossSiteRequest(post({ origin }))).toBe(true);
      // …and passes when it really is the host (no length limit breaks an exotic but valid setup).
      const host = `${"a".repeat(10 * 1024)}.example`;
      expect(crossSiteRequest({ method: "POST", headers: new Headers({ host, origin }) })).toBe(false);
      expect(new CrossSiteRequestError().message).not.toContain("aaaa");
    });

    it.each([
      ["NUL in Origin", { origin: "http://app.example:8080\u0000" }],
      ["NUL in Host-like Origin", { origin: "http://app.exa\u0000mple:8080" }],
      ["control bytes", { origin: "http://\u0001\u0002:8080" }],
      ["non-ASCII", { origin: "http://äpp.example:8080" }],
      ["spaces inside", { origin: "http://app.example :8080" }],
    ])("%s is refused (Node's Headers would reject some; a framework's raw headers may not)", (_, headers) => {
      // Node-style headers: a plain record, as Express's req.headers, which may hold what Headers refuses.
      expect(crossSiteRequest({ method: "POST", headers: { host: "app.example:8080", ...headers } })).toBe(true);
    });

    it("NUL or garbage in Sec-Fetch-Site is refused", () => {
      for (const site of ["same-origin\u0000", "\u0000", "same-origin; x", "😀"]) {
        expect(crossSiteRequest({ method: "POST", headers: { host: "app.example:8080", "sec-fetch-site": site } })).toBe(true);
      }
    });

    it("Node's header arrays are joined as duplicates, which match nothing", () => {
      const headers: CsrfHeaders = { host: "app.example:8080", origin: ["http://app.example:8080", "https://evil.example"] };
      expect(crossSiteRequest({ method: "POST", headers })).toBe(true);
      expect(crossSiteRequest({ method: "POST", headers: { ...headers, origin: ["http://app.example:8080"] } })).toBe(false);
    });

    it("a header record with a key named get is not taken for Headers", () => {
      const headers = { get: "x", host: "app.example:8080", origin: "https://evil.example" };
      expect(crossSiteRequest({ method: "POST", headers })).toBe(true);
    });

    it("a cookie with a token does not make a cross-site POST pass", () => {
      const headers = { cookie: "tessera=token", "sec-fetch-site": "cross-site", origin: "https://evil.example" };
      expect(crossSiteRequest(post(headers))).toBe(true);
    });
  });

  it("csrf: false never refuses", () => {
    expect(crossSiteCheck(false)(post({ "sec-fetch-site": "cross-site", origin: "https://evil.example" }))).toBe(false);
  });

  it("takes a Web Request as is", () => {
    const request = new Request("http://app.example:8080/login", {
      method: "POST",
      headers: { origin: "https://evil.example" },
    });
    expect(crossSiteRequest(request)).toBe(true);
  });
});

describe("CrossSiteRequestError", () => {
  it("is a Tessera error answered 403 Forbidden with no cookie and no-store", async () => {
    const error = new CrossSiteRequestError();
    expect(isTesseraError(error)).toBe(true);
    expect(error.code).toBe("CROSS_SITE_REQUEST");
    expect(error.name).toBe("CrossSiteRequestError");
    expect(sessionErrorAnswer(error)).toEqual({ status: 403, message: "Forbidden" });
    const response = sessionErrorResponse(error);
    expect(response?.status).toBe(403);
    expect(await response?.text()).toBe("Forbidden");
    expect(response?.headers.get("Set-Cookie")).toBeNull();
    expect(response?.headers.get("Cache-Control")).toBe("no-store");
  });
});
