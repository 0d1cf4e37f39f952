import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionStore } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";

const schema = z.object({ cart: z.array(z.string()).default([]), theme: z.string().optional() });

/** A memory store whose next `patch` waits until `release()`. */
function gatedStore() {
  const store = memoryStore();
  let release = () => {};
  let gate: Promise<void> | null = null;
  let entered = () => {};
  const arrived = new Promise<void>((resolve) => {
    entered = resolve;
  });
  return {
    store: {
      ...store,
      patch: async (...args: Parameters<SessionStore["patch"]>) => {
        if (gate !== null) {
          entered();
          await gate;
        }
        return store.patch(...args);
      },
    } satisfies SessionStore,
    close: () => {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    arrived,
    release: () => release(),
  };
}

describe("attack issue 12: discard() while a save is in flight", () => {
  it("discard() called while a save is in flight goes back to what that save stores, as the store ends up", async () => {
    const gated = gatedStore();
    const sessions = defineSession({ schema, store: gated.store });
    const fresh = await sessions.load(undefined);
    fresh.set("cart", ["loaded"]);
    const cookie = cookieHeader(await fresh.commit());

    const session = await sessions.load(cookie);
    gated.close();
    session.set("cart", ["first"]);
    const first = session.save();
    await gated.arrived; // the save has sent ["first"]
    session.set("theme", "dark");
    session.discard();
    gated.release();
    await first;
    const stored = (await sessions.load(cookie)).get("cart");
    expect(stored).toEqual(["first"]);
    expect(session.get("cart")).toEqual(stored);
    expect(session.has("theme")).toBe(false);
  });

  it("discard(key) of a key whose save is in flight, then rotate(): the rotated record keeps what that save stored", async () => {
    const gated = gatedStore();
    const sessions = defineSession({ schema, store: gated.store });
    const fresh = await sessions.load(undefined);
    fresh.set("cart", ["loaded"]);
    const cookie = cookieHeader(await fresh.commit());

    const session = await sessions.load(cookie);
    gated.close();
    session.set("cart", ["first"]);
    const first = session.save();
    await gated.arrived;
    session.set("cart", ["second"]); // a failing procedure's write of the same key
    session.discard("cart");
    gated.release();
    await first;
    expect(session.get("cart")).toEqual(["first"]);
    await session.rotate(); // a whole-record write from memory: a stale ["loaded"] would undo the saved write
    const rotated = cookieHeader(await session.commit());
    expect((await sessions.load(rotated)).get("cart")).toEqual(["first"]);
  });
});
