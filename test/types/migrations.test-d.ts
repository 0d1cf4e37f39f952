import { describe, expectTypeOf, it } from "vitest";
import * as z from "zod";
import { defineSession, type MigrationChain, type MigrationStep, migrationsFrom, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

const v1 = z.object({ name: z.string(), age: z.number(), theme: z.string().optional() });
const v2 = z.object({ displayName: z.string(), age: z.number(), theme: z.enum(["light", "dark"]).default("light") });
const v3 = z.object({
  displayName: z.string(),
  birthYear: z.number().int(),
  theme: z.enum(["light", "dark"]).default("light"),
  visits: z.number().default(0),
});

describe("typed migrations: each step is typed from the schemas", () => {
  it("a step receives the output of the version it upgrades", () => {
    migrationsFrom(v1)
      .to(v2)
      .via((data) => {
        expectTypeOf(data).toEqualTypeOf<z.output<typeof v1>>();
        expectTypeOf(data).toEqualTypeOf<{ name: string; age: number; theme?: string | undefined }>();
        return { displayName: data.name, age: data.age, theme: data.theme === "dark" ? "dark" : "light" };
      })
      .to(v3)
      .via((data) => {
        expectTypeOf(data).toEqualTypeOf<z.output<typeof v2>>();
        // v2's output: the defaulted theme is always there
        expectTypeOf(data.theme).toEqualTypeOf<"light" | "dark">();
        return { displayName: data.displayName, birthYear: 2026 - data.age, theme: data.theme };
      });
  });

  it("a step's parameter is the previous version's output, its return the next version's input", () => {
    const target = migrationsFrom(v1).to(v2);
    type Step = Parameters<typeof target.via>[0];
    expectTypeOf<Step>().toEqualTypeOf<MigrationStep<typeof v1, typeof v2>>();
    expectTypeOf<Parameters<Step>[0]>().toEqualTypeOf<z.output<typeof v1>>();
    expectTypeOf<ReturnType<Step>>().toEqualTypeOf<z.input<typeof v2>>();
    // the next version's input: defaulted keys may be left out
    expectTypeOf<{ displayName: string; age: number }>().toExtend<ReturnType<Step>>();
  });

  it("the chain carries its last schema; defineSession takes it and types the session from the schema", () => {
    const chain = migrationsFrom(v1)
      .to(v2)
      .via(({ name, theme, ...rest }) => ({ ...rest, displayName: name, ...(theme === "dark" ? { theme: "dark" } : {}) }))
      .to(v3)
      .via(({ age, ...rest }) => ({ ...rest, birthYear: 2026 - age }));
    expectTypeOf(chain).toEqualTypeOf<MigrationChain<typeof v3>>();
    const sessions = defineSession({ schema: v3, store: memoryStore(), migrations: chain });
    expectTypeOf(sessions).toEqualTypeOf<SessionManager<typeof v3>>();
  });

  it("a step returning the wrong shape does not compile", () => {
    migrationsFrom(v1)
      .to(v2)
      // @ts-expect-error displayName is missing from v2's input
      .via((data) => ({ age: data.age }));
    migrationsFrom(v1)
      .to(v2)
      // @ts-expect-error age must be a number in v2's input
      .via((data) => ({ displayName: data.name, age: String(data.age) }));
    migrationsFrom(v1)
      .to(v2)
      // @ts-expect-error "blue" is not one of v2's themes
      .via((data) => ({ displayName: data.name, age: data.age, theme: "blue" }));
    migrationsFrom(v1)
      .to(v2)
      // @ts-expect-error v1's theme is any string, v2's an enum: passing it through unchecked is caught
      .via(({ name, ...rest }) => ({ ...rest, displayName: name }));
    migrationsFrom(v1)
      .to(v2)
      .via((data) => ({ displayName: data.name, age: data.age }))
      .to(v3)
      // @ts-expect-error v2 has no `name`: the second step is typed from v2, not v1
      .via((data) => ({ displayName: data.name, birthYear: 1990 }));
  });

  it("a chain that does not end at the session's schema, or a version without its step, does not compile", () => {
    const toV2 = migrationsFrom(v1)
      .to(v2)
      .via((data) => ({ displayName: data.name, age: data.age }));
    // @ts-expect-error the chain ends at v2, the session's schema is v3
    defineSession({ schema: v3, store: memoryStore(), migrations: toV2 });
    // @ts-expect-error `.to(v3)` without `.via(step)` is not a chain
    defineSession({ schema: v3, store: memoryStore(), migrations: toV2.to(v3) });
  });

  it("the untyped form is unchanged", () => {
    const sessions = defineSession({
      schema: v3,
      store: memoryStore(),
      version: 3,
      migrations: {
        2: ({ name, ...rest }) => ({ ...rest, displayName: name }),
        3: (data) => {
          expectTypeOf(data).toEqualTypeOf<Record<string, unknown>>();
          return data;
        },
      },
    });
    expectTypeOf(sessions).toEqualTypeOf<SessionManager<typeof v3>>();
  });
});
