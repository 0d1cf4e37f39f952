import { expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionStore } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";

const schema = z.object({ cart: z.array(z.string()).default([]), theme: z.string().optional() });

/** A memory store whose next `patch` waits until `release()`, so a test acts while a save is in flight. */
function gatedStore() {
  const store = memoryStore();
  let release = () => {};
  let gate: Promise<void> | null = null;
  return {
    store: {
      ...store,
      patch: async (...args: Parameters<SessionStore["patch"]>) => {
        if (gate !== null) await gate;
        return store.patch(...args);
      },
    } satisfies SessionStore,
    close: () => {
      gate = new Promise((resolve) => {
        release = resolve;
      });
    },
    release: () => release(),
  };
}

it("issue 12.9: a change made while a save is in flight is discarded back to what that save stored, not to the load", async () => {
  const gated = gatedStore();
  const sessions = defineSession({ schema, store: gated.store });
  const fresh = await sessions.load(undefined);
  fresh.set("cart", ["loaded"]);
  const cookie = cookieHeader(await fresh.commit());

  const session = await sessions.load(cookie);
  gated.close();
  session.set("cart", ["first"]);
  const first = session.save();
  await new Promise((resolve) => setTimeout(resolve, 10)); // the save has sent ["first"] and waits at the gate
  session.set("cart", ["second"]);
  session.set("theme", "dark");
  gated.release();
  await first;
  session.discard();
  expect(session.get("cart")).toEqual(["first"]);
  expect(session.has("theme")).toBe(false);
  expect(session.isModified).toBe(false);
  await session.save();
  const loaded = await sessions.load(cookie);
  expect(loaded.get("cart")).toEqual(["first"]);
  expect(loaded.has("theme")).toBe(false);
});

it("issue 12.9: discard() restores a key cleared by clear() while the save of another key was in flight", async () => {
  const gated = gatedStore();
  const sessions = defineSession({ schema, store: gated.store });
  const fresh = await sessions.load(undefined);
  fresh.update({ cart: ["kept"], theme: "light" });
  const cookie = cookieHeader(await fresh.commit());

  const session = await sessions.load(cookie);
  gated.close();
  session.set("theme", "dark");
  const first = session.save();
  await new Promise((resolve) => setTimeout(resolve, 10));
  session.clear();
  gated.release();
  await first;
  session.discard();
  expect(session.all()).toMatchObject({ cart: ["kept"], theme: "dark" });
  await session.save();
  expect((await sessions.load(cookie)).all()).toMatchObject({ cart: ["kept"], theme: "dark" });
});
