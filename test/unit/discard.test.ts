import { expect, it } from "vitest";
import { gatedSession } from "../helpers/gated-store.js";

it("issue 12.9: a change made while a save is in flight is discarded back to what that save stored, not to the load", async () => {
  const { gated, sessions, cookie, session } = await gatedSession({ cart: ["loaded"] });
  session.set("cart", ["first"]);
  const first = session.save();
  await gated.arrived; // the save has sent ["first"] and waits at the gate
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
  const { gated, sessions, cookie, session } = await gatedSession({ cart: ["kept"], theme: "light" });
  session.set("theme", "dark");
  const first = session.save();
  await gated.arrived;
  session.clear();
  gated.release();
  await first;
  session.discard();
  expect(session.all()).toMatchObject({ cart: ["kept"], theme: "dark" });
  await session.save();
  expect((await sessions.load(cookie)).all()).toMatchObject({ cart: ["kept"], theme: "dark" });
});
