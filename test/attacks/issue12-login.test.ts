import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { openPglite, type TestDatabase } from "../helpers/databases.js";

const schema = z.object({
  user: z.object({ org: z.string(), id: z.string() }).optional(),
  cart: z.array(z.string()).default([]),
});

describe("attack issue 12: login() compares identities as stored", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openPglite();
  });
  afterAll(() => database.close());

  it("login() of the same bigint identity again keeps the cart on Postgres (jsonb reorders superjson's meta)", async () => {
    const sessions = defineSession({
      schema: z.object({ userId: z.bigint().optional(), cart: z.array(z.string()).default([]) }),
      store: database.store,
    });
    const first = await sessions.load(undefined);
    await first.login("userId", 42n);
    first.set("cart", ["kept"]);
    const cookie = cookieHeader(await first.commit());

    const again = await sessions.load(cookie);
    await again.login("userId", 42n);
    const rotated = cookieHeader(await again.commit());
    expect((await sessions.load(rotated)).get("cart")).toEqual(["kept"]);
  });

  it("login() of the same object identity again keeps the cart on Postgres (jsonb reorders object keys)", async () => {
    const sessions = defineSession({ schema, store: database.store });
    const first = await sessions.load(undefined);
    await first.login("user", { org: "acme", id: "u1" });
    first.set("cart", ["kept"]);
    const cookie = cookieHeader(await first.commit());

    const again = await sessions.load(cookie);
    await again.login("user", { org: "acme", id: "u1" });
    const rotated = cookieHeader(await again.commit());
    expect((await sessions.load(rotated)).get("cart")).toEqual(["kept"]);
  });
});
