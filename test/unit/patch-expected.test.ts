import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, SessionTooLargeError, SessionValidationError } from "../../src/index.js";
import type { SessionPatch, SessionStore, StoredData } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { hashToken } from "../../src/token.js";
import { utf8Length } from "../../src/utf8.js";
import { testClock } from "../helpers/clock.js";
import { sized } from "../helpers/records.js";

/**
 * `SessionPatch.expected` (issue 14): the core tells the store the size the record will have
 * after a patch when it holds the record exactly as the store does at `expected.rev`, and
 * `drizzleStore` then checks `maxBytes` against that figure instead of measuring the row. A
 * wrong figure would let a record grow past `maxBytes`, so these tests check it against the
 * store's own measure on every patch, through interleaved requests, raw writes of invalid
 * entries and discards.
 */

const KEYS = ["a", "b", "c", "d"] as const;
const schema = z.object({
  a: z.string().optional(),
  b: z.string().optional(),
  c: z.string().optional(),
  d: z.string().optional(),
});

const measure = (data: StoredData) => Object.values(data).reduce((sum, entry) => sum + utf8Length(JSON.stringify(entry)), 0);

interface Seen {
  /** Patches that carried `expected` and landed on that rev: [expected bytes, the stored size after]. */
  checked: [number, number][];
  withoutExpected: number;
  staleExpected: number;
}

/** A memory store whose patches are checked: an `expected` that lands on its rev must be the stored size after. */
function checkedStore(): { store: SessionStore; inner: SessionStore; seen: Seen } {
  const inner = memoryStore();
  const seen: Seen = { checked: [], withoutExpected: 0, staleExpected: 0 };
  // One patch at a time, so the read after it sees that patch's result and no other.
  let queue: Promise<unknown> = Promise.resolve();
  const store: SessionStore = {
    ...inner,
    // The size the core starts from is the store's (as Redis and Postgres report it).
    get: async (id, now) => {
      const record = await inner.get(id, now);
      return record === null ? null : sized(record);
    },
    patch(id: string, patch: SessionPatch, now: Date) {
      const run = queue.then(async () => {
        const rev = await inner.patch(id, patch, now);
        if (patch.expected === undefined) seen.withoutExpected++;
        else if (rev !== patch.expected.rev + 1) seen.staleExpected++;
        else seen.checked.push([patch.expected.bytes, measure((await inner.get(id, now))?.data ?? {})]);
        return rev;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
  return { store, inner, seen };
}

const cookieOf = (headers: string[]) => (headers[0] as string).split(";")[0] as string;

describe("SessionPatch.expected", () => {
  it("is the stored size after the patch, and a patch after another request's write carries none", async () => {
    const clock = testClock();
    const { store, seen } = checkedStore();
    const sessions = defineSession({ schema, store, now: clock.now });
    const first = await sessions.load(null);
    first.update({ a: "one", b: "two" });
    const cookie = cookieOf(await first.commit());

    const mine = await sessions.load(cookie);
    const theirs = await sessions.load(cookie);
    theirs.set("c", "x".repeat(300));
    await theirs.commit();
    mine.set("a", "é".repeat(50));
    await mine.commit(); // lands on rev 3 while `mine` loaded rev 1
    mine.set("b", "later");
    await mine.commit(); // the store holds `c`, which `mine` never saw: no figure to give

    const again = await sessions.load(cookie);
    again.delete("b");
    again.set("d", "new");
    await again.commit();
    again.set("a", "short");
    await again.commit(); // its own previous patch: the figure is still exact

    expect(seen.checked.length).toBe(3);
    for (const [expected, stored] of seen.checked) expect(expected).toBe(stored);
    expect(seen.staleExpected).toBe(1); // `mine`'s first patch: expected rev 1, landed on 2
    expect(seen.withoutExpected).toBe(1); // `mine`'s second patch
  });

  it("property: through interleaved requests, raw invalid entries and discards, every expected figure that lands on its rev is exact", async () => {
    const who = fc.nat(2);
    const op = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant("set" as const),
          who,
          key: fc.constantFrom(...KEYS),
          value: fc.string({ maxLength: 40, unit: "binary" }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), who, key: fc.constantFrom(...KEYS) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("commit" as const), who }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("discard" as const), who }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("reload" as const), who }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("corrupt" as const), key: fc.constantFrom(...KEYS) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        const clock = testClock();
        const { store, inner, seen } = checkedStore();
        const sessions = defineSession({ schema, store, now: clock.now, maxBytes: 400 });
        const seed = await sessions.load(null);
        seed.set("a", "seed");
        const cookie = cookieOf(await seed.commit());
        const id = hashToken(cookie.split("=")[1] as string);
        const requests = [await sessions.load(cookie), await sessions.load(cookie), await sessions.load(cookie)];
        for (const o of ops) {
          if (o.kind === "corrupt") {
            // A value the schema refuses, written past the core: an invalid entry the requests meet.
            const now = new Date(clock.now());
            const held = await inner.get(id, now);
            if (held === null) continue;
            await inner.patch(
              id,
              {
                set: { [o.key]: { json: 42 } },
                deleted: [],
                expiresAt: held.expiresAt,
                updatedAt: now,
                schemaVersion: 1,
                maxBytes: 1e9,
              },
              now,
            );
            continue;
          }
          const session = requests[o.who] as (typeof requests)[number];
          try {
            if (o.kind === "set") session.set(o.key, o.value);
            else if (o.kind === "delete") session.delete(o.key);
            else if (o.kind === "commit") await session.commit();
            else if (o.kind === "discard") session.discard();
            else requests[o.who] = await sessions.load(cookie);
          } catch (error) {
            // Too large, or a string no store can hold (NUL, a lone surrogate): refused before anything changes.
            if (!(error instanceof SessionTooLargeError) && !(error instanceof SessionValidationError)) throw error;
          }
          clock.advance(1);
        }
        for (const [expected, stored] of seen.checked) expect(expected).toBe(stored);
        const final = await inner.get(id, new Date(clock.now()));
        if (final !== null) expect(measure(final.data)).toBeLessThanOrEqual(400 + 60);
      }),
      { numRuns: 500 },
    );
  });
});
