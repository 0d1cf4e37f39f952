import { expect, it } from "vitest";
import * as z from "zod";
import { migrationsFrom, type SessionEvent, SessionValidationError } from "../../../src/index.js";
import { Session } from "../../../src/session.js";
import type { StoredSession } from "../../../src/store.js";
import { cookieHeader } from "../../helpers/cookies.js";
import { craftedRecord } from "../../helpers/records.js";
import { type appSchema, type ContractScope, follow, makeSessions, type StoreHarness, serverOnly, serverStore } from "./setup.js";

const v1 = z.object({ name: z.string().optional(), age: z.number().optional(), theme: z.string().optional() });

/** Stored data meets a changed schema: migrations, onInvalid, corrupt records (R39, R41, R43). */
export function evolutionContract(harness: () => StoreHarness, scope: ContractScope): void {
  const serverIt = serverOnly(scope);
  async function storedUnderV1(h: StoreHarness): Promise<string> {
    const { sessions } = makeSessions(h, { schema: v1 });
    const s = await sessions.load(undefined);
    s.update({ name: "Ada", age: 36, theme: "purple" });
    return cookieHeader(await s.commit());
  }
  const v2 = z.object({
    name: z.string().optional(),
    age: z.number().optional(),
    theme: z.enum(["light", "dark"]).default("light"),
  });

  it('R39: onInvalid "drop" (default) drops only the keys that fail the new schema', async () => {
    const h = harness();
    const cookie = await storedUnderV1(h);
    const events: string[] = [];
    const { sessions } = makeSessions(h, { schema: v2, onEvent: (e) => events.push(e.type) });
    const s = await sessions.load(cookie);
    expect(s.isNew).toBe(false);
    expect(s.all()).toEqual({ name: "Ada", age: 36, theme: "light" });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).toContain("invalid");
  });

  it('onInvalid "reset" gives a fresh session and deletes the stored record', async () => {
    const h = harness();
    const cookie = await storedUnderV1(h);
    const { sessions } = makeSessions(h, { schema: v2, onInvalid: "reset" });
    const s = await sessions.load(cookie);
    expect(s.isNew).toBe(true);
    expect(s.has("name")).toBe(false);
    expect(await h.count()).toBe(0);
  });

  it('onInvalid "throw" raises SessionValidationError on load', async () => {
    const h = harness();
    const cookie = await storedUnderV1(h);
    const { sessions } = makeSessions(h, { schema: v2, onInvalid: "throw" });
    await expect(sessions.load(cookie)).rejects.toBeInstanceOf(SessionValidationError);
  });

  it("migrations upgrade data written under older versions, step by step, and the upgrade is saved", async () => {
    const h = harness();
    const cookie = await storedUnderV1(h);
    const v3 = z.object({
      displayName: z.string(),
      birthYear: z.number().int(),
      theme: z.enum(["light", "dark"]).default("light"),
    });
    const { sessions, calls } = makeSessions(h, {
      schema: v3,
      version: 3,
      migrations: {
        2: ({ name, ...rest }) => ({ ...rest, displayName: name }),
        3: ({ age, theme, ...rest }) => ({ ...rest, birthYear: 2026 - (age as number), ...(theme === "dark" ? { theme } : {}) }),
      },
    });
    const s = await sessions.load(cookie);
    expect(s.all()).toEqual({ displayName: "Ada", birthYear: 1990, theme: "light" });
    const upgraded = await s.commit();
    if (!scope.clientSide) expect(calls.replace).toBe(1);
    else expect(upgraded).toHaveLength(1); // the upgraded record travels in a new cookie
    const again = await sessions.load(follow(cookie, upgraded));
    expect(again.get("displayName")).toBe("Ada");
    expect(await again.commit()).toEqual([]); // already at version 3: nothing to rewrite
    if (!scope.clientSide) expect(calls.replace).toBe(1);
  });

  // Typed migrations (migrationsFrom): each step typed from the version it upgrades, and checked by the schemas at load.
  const typedV2 = z.object({ displayName: z.string(), age: z.number(), theme: z.enum(["light", "dark"]).default("light") });
  const typedV3 = z.object({
    displayName: z.string(),
    birthYear: z.number().int(),
    theme: z.enum(["light", "dark"]).default("light"),
  });
  function typedChain(steps: string[], toV3?: (data: z.output<typeof typedV2>) => z.input<typeof typedV3>) {
    return migrationsFrom(v1)
      .to(typedV2)
      .via(({ name, age, theme }) => {
        steps.push(`2:${name}`);
        return { displayName: name ?? "anonymous", age: age ?? 0, ...(theme === "dark" ? { theme: "dark" } : {}) };
      })
      .to(typedV3)
      .via(
        toV3 ??
          (({ age, ...rest }) => {
            steps.push(`3:${rest.displayName}`);
            return { ...rest, birthYear: 2026 - age };
          }),
      );
  }

  it("typed migrations: a record stored at version 1 loads at version 3 through both steps, and the upgrade is saved", async () => {
    const h = harness();
    const cookie = await storedUnderV1(h);
    const steps: string[] = [];
    const { sessions, calls } = makeSessions(h, { schema: typedV3, migrations: typedChain(steps) });
    const s = await sessions.load(cookie);
    expect(steps).toEqual(["2:Ada", "3:Ada"]);
    expect(s.isNew).toBe(false);
    // "purple" was not a v2 theme: the first step left it out and v2's default applied
    expect(s.all()).toEqual({ displayName: "Ada", birthYear: 1990, theme: "light" });
    const upgraded = await s.commit();
    if (!scope.clientSide) expect(calls.replace).toBe(1);
    else expect(upgraded).toHaveLength(1);
    const again = await sessions.load(follow(cookie, upgraded));
    expect(again.get("birthYear")).toBe(1990);
    expect(steps).toHaveLength(2); // stored at version 3 now: no step runs
    expect(await again.commit()).toEqual([]);
  });

  it("typed migrations: a step returning the wrong shape at run time fails the migration, as onInvalid says", async () => {
    const h = harness();
    const cookie = await storedUnderV1(h);
    // What the types forbid, as untyped code (or a cast) could still do it: birthYear missing.
    const wrong = (({ displayName }) => ({ displayName })) as (data: z.output<typeof typedV2>) => z.input<typeof typedV3>;

    const thrown = makeSessions(h, { schema: typedV3, onInvalid: "throw", migrations: typedChain([], wrong) });
    const error = await thrown.sessions.load(cookie).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionValidationError);
    expect((error as SessionValidationError).key).toBe("$data");
    expect((error as SessionValidationError).issues[0]?.path).toEqual(["birthYear"]);
    expect((error as SessionValidationError).issues[0]?.message).toMatch(/step to version 3 returned data that does not match/);
    if (!scope.clientSide) expect(await h.count()).toBe(1); // "throw" keeps the record

    const events: string[] = [];
    const dropped = makeSessions(h, { schema: typedV3, migrations: typedChain([], wrong), onEvent: (e) => events.push(e.type) });
    const s = await dropped.sessions.load(cookie);
    expect(s.isNew).toBe(true); // a failed migration resets the session under "drop" too
    expect(s.has("displayName")).toBe(false);
    if (!scope.clientSide) expect(await h.count()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).toContain("invalid");
  });

  it("typed migrations: stored data that fails the schema of its own version fails the migration", async () => {
    const h = harness();
    const { sessions: writer } = makeSessions(h, { schema: z.object({ name: z.number() }) });
    const w = await writer.load(undefined);
    w.set("name", 7); // version 1 data, but not v1's: name must be a string
    const cookie = cookieHeader(await w.commit());
    const steps: string[] = [];
    const { sessions } = makeSessions(h, { schema: typedV3, onInvalid: "throw", migrations: typedChain(steps) });
    const error = await sessions.load(cookie).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionValidationError);
    expect((error as SessionValidationError).issues[0]?.message).toMatch(/data of version 1 does not match/);
    expect(steps).toEqual([]); // the step never saw unvalidated data
  });

  serverIt("R43: a corrupt record gives a fresh session and is deleted, without a throw", async () => {
    const h = harness();
    const { token, record } = await craftedRecord([] as unknown as StoredSession["data"]);
    if (h.plantCorrupt) await h.plantCorrupt(record.id);
    else await serverStore(h).create(record);
    expect(await h.count()).toBe(1);
    const events: string[] = [];
    const { sessions } = makeSessions(h, { onEvent: (e) => events.push(e.type) });
    const s = await sessions.load(`sid=${token}`);
    expect(s.isNew).toBe(true);
    expect(await h.count()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(events).toContain("corrupt"); // B12: never "unknown", on every store
  });

  serverIt("B12: garbage written into the backend loads as corrupt (not unknown), a fresh session, and is deleted", async () => {
    const h = harness();
    // A backend that declares no garbage of its own form gets data that is not an object.
    const kinds = Object.entries(h.garbage ?? { "data that is not an object": null });
    for (const [kind, plant] of kinds) {
      const { token, record } = await craftedRecord(
        plant === null ? ([] as unknown as StoredSession["data"]) : { userId: { json: "u1" } },
      );
      await serverStore(h).create(record);
      await plant?.(record.id);
      const events: SessionEvent[] = [];
      const { sessions } = makeSessions(h, { onEvent: (e) => events.push(e) });
      const s = await sessions.load(`sid=${token}`).catch((error: unknown) => error);
      expect(s, kind).toBeInstanceOf(Session);
      expect((s as Session<typeof appSchema>).isNew, kind).toBe(true);
      expect(await h.count(), kind).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(
        events.map((e) => e.type),
        kind,
      ).toContain("corrupt");
      expect(
        events.map((e) => e.type),
        kind,
      ).not.toContain("unknown");
    }
  });

  serverIt(
    "R41: stored entries keyed __proto__ or constructor, or with poisoned superjson meta, never reach Object.prototype",
    async () => {
      const h = harness();
      const data = JSON.parse(
        '{"__proto__": {"json": {"polluted": true}}, "constructor": {"json": {"prototype": {"polluted": true}}},' +
          ' "userId": {"json": "u1"}, "profile": {"json": {"name": "x"}, "meta": {"values": {"__proto__.polluted": ["undefined"]}}},' +
          ' "theme": {"nojson": true}}',
      ) as StoredSession["data"];
      const { token, record } = await craftedRecord(data);
      await serverStore(h).create(record);
      const { sessions } = makeSessions(h);
      const s = await sessions.load(`sid=${token}`);
      expect(s.get("userId")).toBe("u1");
      expect(s.has("profile")).toBe(false);
      expect(s.get("theme")).toBe("light");
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(s.all()).sort()).toEqual(["cart", "theme", "userId", "visits"]);
    },
  );
}
