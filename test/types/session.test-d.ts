import { describe, expectTypeOf, it } from "vitest";
import * as z from "zod";
import { defineSession, type Session, type SessionData } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
  lastSeen: z.date().optional(),
  count: z.number(),
});
const sessions = defineSession({ schema, store: memoryStore() });
declare const session: Session<typeof schema>;

describe("types flow from the schema", () => {
  it("get returns the field's output type; defaulted keys are never undefined", () => {
    expectTypeOf(session.get("cart")).toEqualTypeOf<{ sku: string; qty: number }[]>();
    expectTypeOf(session.get("theme")).toEqualTypeOf<"light" | "dark">();
    expectTypeOf(session.get("userId")).toEqualTypeOf<string | undefined>();
    expectTypeOf(session.get("lastSeen")).toEqualTypeOf<Date | undefined>();
    expectTypeOf(session.get("count")).toEqualTypeOf<number | undefined>();
    expectTypeOf(session.get("userId", "anon")).toEqualTypeOf<string | undefined>();
    expectTypeOf(session.get("count", 0)).toEqualTypeOf<number>();
  });

  it("set accepts only the field's input type and known keys", () => {
    session.set("theme", "dark");
    // @ts-expect-error "blue" is not in the enum
    session.set("theme", "blue");
    // @ts-expect-error unknown key
    session.set("nope", 1);
    // @ts-expect-error qty must be a number
    session.set("cart", [{ sku: "a", qty: "1" }]);
    session.set("otp" as never, "x" as never);
    session.update({ theme: "light", count: 2 });
    // @ts-expect-error wrong type inside update
    session.update({ count: "2" });
  });

  it("$infer is z.output of the schema", () => {
    expectTypeOf<typeof sessions.$infer>().toEqualTypeOf<z.output<typeof schema>>();
  });

  it("all() and findMany data are typed snapshots", async () => {
    expectTypeOf(session.all()).toEqualTypeOf<SessionData<typeof schema>>();
    expectTypeOf(session.all().theme).toEqualTypeOf<"light" | "dark">();
    expectTypeOf(session.all().userId).toEqualTypeOf<string | undefined>();
    const [first] = await sessions.findMany({ where: { userId: "u1" } });
    expectTypeOf(first?.data.cart).toEqualTypeOf<{ sku: string; qty: number }[] | undefined>();
    // @ts-expect-error where takes scalar schema fields only
    await sessions.findMany({ where: { cart: [] } });
  });

  it("load returns the typed session; pop and consumeFlash keep the field types", async () => {
    const loaded = await sessions.load(new Request("http://x"));
    expectTypeOf(loaded).toEqualTypeOf<Session<typeof schema>>();
    expectTypeOf(loaded.pop("userId")).toEqualTypeOf<string | undefined>();
    expectTypeOf(loaded.consumeFlash("theme")).toEqualTypeOf<"light" | "dark" | undefined>();
    expectTypeOf(loaded.commit()).toEqualTypeOf<Promise<string[]>>();
  });
});
