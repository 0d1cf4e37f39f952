/**
 * docs/adapters.md's `tesserae/next` example in the real Next server (issue 15.6): .ci/next-fixture.mjs
 * copies the block into the fixture app as lib/doc-example.ts and serves its `POST` at
 * /api/doc-example, built from the packed package like the rest of the fixture (NEXT_APP_URL).
 */
import { describe, expect, it } from "vitest";

const base = process.env.NEXT_APP_URL;
if (base === undefined || base === "") throw new Error("NEXT_APP_URL is not set: run `npm run test:next-app`");
const label = process.env.NEXT_APP_LABEL ?? base;

const post = (body: string, cookie?: string) =>
  fetch(`${base}/api/doc-example`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(cookie === undefined ? {} : { Cookie: cookie }) },
    body,
  });

/** The example's own cookie (its manager keeps the default name); the fixture's proxy uses `sid`. */
const exampleCookie = (response: Response) => response.headers.getSetCookie().find((value) => value.startsWith("__Host-sid="));

describe(`docs/adapters.md's Next example as a Route Handler (${label})`, () => {
  it("POST with a cart saves it as the handler returns: 200 { ok: true }, the session cookie under private, no-store", async () => {
    const response = await post(JSON.stringify(["apple"]));
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(exampleCookie(response)).toMatch(/^__Host-sid=[\w-]{43}; /);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("a body the schema refuses (set() throws) ends the request in Next's 500 and commits nothing: no session cookie", async () => {
    const response = await post("42");
    expect(response.status).toBe(500);
    expect(exampleCookie(response)).toBeUndefined();
  });
});
