import { describe, expect, it } from "vitest";
import { cookieHeader } from "../helpers/cookies.js";
import { gatedSession } from "../helpers/gated-store.js";

describe("attack issue 12: discard() while a save is in flight", () => {
  it("discard() called while a save is in flight goes back to what that save stores, as the store ends up", async () => {
    const { gated, sessions, cookie, session } = await gatedSession({ cart: ["loaded"] });
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
    const { gated, sessions, session } = await gatedSession({ cart: ["loaded"] });
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
