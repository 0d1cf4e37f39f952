/**
 * Issue 14 attack: the manager's operations that name "the current session" (revoke's `except`,
 * `tag`) when that session was loaded from a cookie-cache snapshot rather than from the store.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { testClock } from "../helpers/clock.js";
import { countingStore } from "../helpers/counting-store.js";

const SECRET = "issue14-operator-cookie-cache-secret-0123456789";
const schema = z.object({ userId: z.string().optional() });

function rig() {
  const clock = testClock();
  const counted = countingStore(memoryStore());
  const sessions = defineSession({
    schema,
    store: counted.store,
    cookie: { secure: false, name: "sid" },
    now: clock.now,
    cookieCache: { maxAge: "30s", secrets: SECRET },
  });
  const device = async () => {
    const s = await sessions.load(null);
    s.set("userId", "u1");
    return (await s.commit()).map((c) => c.split(";")[0]).join("; ");
  };
  return { sessions, clock, ...counted, device };
}

describe("issue 14 cookie cache: 'log out everywhere else' from a snapshot-loaded session", () => {
  it("revoke({ except }) with the current session read from its snapshot keeps exactly that one", async () => {
    const t = rig();
    const [phone, laptop, current] = [await t.device(), await t.device(), await t.device()];
    t.reset();
    const session = await t.sessions.load(current);
    expect(t.calls.get).toBe(0); // from the snapshot
    expect(await t.sessions.revoke({ where: { userId: "u1" }, except: session })).toBe(2);
    // Past the window every device reads the store: only the current one is still signed in.
    t.clock.advance(30);
    const after = await Promise.all([phone, laptop, current].map(async (h) => (await t.sessions.load(h)).get("userId") ?? null));
    expect(after).toEqual([null, null, "u1"]);
  });

  it("a session's tag is the same whether read from its snapshot or from the store", async () => {
    const t = rig();
    const header = await t.device();
    const fromSnapshot = await t.sessions.load(header);
    const fromStore = await t.sessions.load(header.split("; ")[0] as string);
    expect(fromSnapshot.tag).not.toBeNull();
    expect(fromSnapshot.tag).toBe(fromStore.tag);
  });
});
