/**
 * Issue 14 attack on tesserae/next with `cookieCache`: a Server Component render (cookies cannot
 * be set) writes to a session loaded from the browser's snapshot, then a Server Action of the
 * same browser does a read-modify-write of the same key. Every acknowledged write must survive.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { type CookieAttributes, getSession, type NextCookies, saveSession } from "../../src/adapters/next.js";
import { defineSession, isTesseraError, type Session } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const SECRET = "issue14-next-cookie-cache-secret-0123456789ab";
const schema = z.object({ cart: z.array(z.string()).default([]) });
type S = Session<typeof schema>;

/**
 * Next's `await cookies()` stand-in (the framework, not a database): what the request sent, and
 * what `set` would send; `readOnly` throws as in a Server Component render.
 */
class NextJar implements NextCookies {
  readonly written = new Map<string, string>();
  constructor(
    readonly sent: Map<string, string>,
    readonly readOnly: boolean,
  ) {}
  get(name: string) {
    const value = this.written.get(name) ?? this.sent.get(name);
    return value === undefined ? undefined : { value };
  }
  set(name: string, value: string, attributes: CookieAttributes) {
    if (this.readOnly) throw new Error("Cookies can only be modified in a Server Action or Route Handler.");
    this.written.set(name, attributes.maxAge === 0 ? "" : value);
    return this;
  }
}

async function rig() {
  const sessions = defineSession({
    schema,
    store: memoryStore(),
    cookie: { secure: false, name: "sid" },
    cookieCache: { maxAge: "30s", secrets: SECRET },
  });
  const browserJar = new Map<string, string>();
  /** A Server Action (cookies settable) or a Server Component render (readOnly) doing `act`; what saveSession said, or the error code. */
  const request = async (readOnly: boolean, act: (s: S) => void): Promise<boolean | string> => {
    const jar = new NextJar(new Map(browserJar), readOnly);
    const session = await getSession(sessions, { cookies: () => jar });
    act(session);
    const outcome = await saveSession(session).catch((error: unknown) => (isTesseraError(error) ? error.code : String(error)));
    for (const [name, value] of jar.written) {
      if (value === "") browserJar.delete(name);
      else browserJar.set(name, value);
    }
    return outcome;
  };
  const add = (item: string) => (s: S) => s.set("cart", [...s.get("cart"), item]);
  const stored = async () => (await sessions.load(`sid=${browserJar.get("sid")}`)).get("cart");
  expect(await request(false, add("apple"))).toBe(true);
  expect([...browserJar.keys()].sort()).toEqual(["sid", "sid.cache"]);
  return { request, add, stored, browserJar };
}

describe("issue 14 adapters with cookieCache: Next Server Component then Server Action", () => {
  // Was a DEFECT: the render's write landed and the next Server Action's read-modify-write from
  // the unchanged snapshot erased it. saveSession now refuses it before the store.
  it("a Server Component write from the snapshot is either refused (nothing stored) or kept by the next Server Action's read-modify-write", async () => {
    const { request, add, stored } = await rig();
    const render = await request(true, add("pear"));
    const afterRender = await stored();
    expect(await request(false, add("kiwi"))).toBe(true);
    if (render === false) {
      // Accepted without a cookie: the write must survive the next read-modify-write.
      expect(afterRender).toEqual(["apple", "pear"]);
      expect(await stored()).toEqual(["apple", "pear", "kiwi"]);
    } else {
      // Refused before the store: nothing of it was written.
      expect(render).toBe("SESSION_USAGE");
      expect(afterRender).toEqual(["apple"]);
      expect(await stored()).toEqual(["apple", "kiwi"]);
    }
  });

  it("reads in a Server Component from the snapshot set nothing and fail nothing", async () => {
    const { request, stored } = await rig();
    let seen: string[] = [];
    expect(
      await request(true, (s) => {
        seen = s.get("cart");
      }),
    ).toBe(false);
    expect(seen).toEqual(["apple"]);
    expect(await stored()).toEqual(["apple"]);
  });
});
