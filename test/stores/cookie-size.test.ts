/**
 * B8: a cookie store's size is known when a value is set, not discovered at commit. Random
 * sessions near the 4096-byte cookie limit, in every mode of the store, with and without a
 * synchronous deflate: every write either throws `SessionTooLargeError` at the call (changing
 * nothing) or is sealed at commit into a cookie that fits.
 */
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type Session, SessionTooLargeError } from "../../src/index.js";
import { cookieStore, createCookieStore } from "../../src/stores/cookie/cookie-store.js";
import { testClock } from "../helpers/clock.js";
import { cookieHeader } from "../helpers/cookies.js";

const SECRET = "a-secret-of-at-least-32-characters-SIZE";
const schema = z.object({
  a: z.string().optional(),
  b: z.string().optional(),
  c: z.string().optional(),
  n: z.number().default(0),
});
type Schema = typeof schema;
const KEYS = ["a", "b", "c"] as const;

/** A string of `len` characters: incompressible noise, compressible text, or multi-byte Unicode. */
function text(kind: "noise" | "words" | "unicode", len: number, seed: number): string {
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  const pick = (alphabet: string) => alphabet[Math.floor(next() * alphabet.length)]!;
  const noise = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const words = ["session ", "cookie ", "tessera ", "seal ", "cart ", "flash ", "user "];
  const unicode = ["é", "ß", "日", "本", "😀", "€", "ſ", "a", " "];
  let out = "";
  while (out.length < len) {
    if (kind === "noise") out += pick(noise);
    else if (kind === "words") out += words[Math.floor(next() * words.length)];
    else out += unicode[Math.floor(next() * unicode.length)];
  }
  return out.slice(0, len).replace(/[\uD800-\uDBFF]$/, "x");
}

const value = fc
  .record({
    kind: fc.constantFrom("noise" as const, "words" as const, "unicode" as const),
    len: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 1500, max: 4500 })),
    seed: fc.integer(),
  })
  .map(({ kind, len, seed }) => text(kind, len, seed));
const key = fc.constantFrom(...KEYS);

type Op =
  | { op: "set"; key: (typeof KEYS)[number]; value: string; ttl: boolean }
  | { op: "update"; a: string; b: string }
  | { op: "flash"; key: (typeof KEYS)[number]; value: string }
  | { op: "setdefault"; key: (typeof KEYS)[number]; value: string }
  | { op: "setExpiry"; to: 0 | null | "1h" | "date" }
  | { op: "delete"; key: (typeof KEYS)[number] }
  | { op: "rotate" }
  | { op: "commit"; advance: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant("set" as const), key, value, ttl: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("update" as const), a: value, b: value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("flash" as const), key, value }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("setdefault" as const), key, value }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("setExpiry" as const),
      to: fc.constantFrom(0 as const, null, "1h" as const, "date" as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("rotate" as const) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("commit" as const), advance: fc.integer({ min: 0, max: 400 * 86400 }) }) },
);

async function apply(session: Session<Schema>, step: Op, nowMs: number): Promise<void> {
  switch (step.op) {
    case "set":
      return session.set(step.key, step.value, step.ttl ? { ttl: { days: 30 } } : {});
    case "update":
      return session.update({ a: step.a, b: step.b });
    case "flash":
      return session.flash(step.key, step.value);
    case "setdefault":
      session.setdefault(step.key, step.value);
      return;
    case "setExpiry":
      return session.setExpiry(step.to === "1h" ? { hours: 1 } : step.to === "date" ? new Date(nowMs + 86_400_000) : step.to);
    case "delete":
      session.delete(step.key);
      return;
    case "rotate":
      return session.rotate();
    case "commit":
      return;
  }
}

const variants = [
  { encrypt: false, compress: true },
  { encrypt: false, compress: false },
  { encrypt: true, compress: true },
  { encrypt: true, compress: false },
].flatMap((mode) => [
  { ...mode, zlib: true, maxBytes: undefined },
  { ...mode, zlib: true, maxBytes: 65536 },
  { ...mode, zlib: false, maxBytes: 65536 },
]);

describe("B8: the sealed cookie's size is checked at the write, never first at commit", () => {
  it.each(variants)(
    "encrypt $encrypt, compress $compress, node:zlib $zlib, maxBytes $maxBytes: commit() never throws SessionTooLargeError for a session whose writes all succeeded",
    async ({ encrypt, compress, zlib, maxBytes }) => {
      let refused = 0;
      let committed = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
          const clock = testClock();
          const store = zlib
            ? cookieStore({ secrets: SECRET, encrypt, compress })
            : createCookieStore({ secrets: SECRET, encrypt, compress }, null);
          const sessions = defineSession({
            schema,
            store,
            now: clock.now,
            maxAge: "400d",
            ...(maxBytes === undefined ? {} : { maxBytes }),
          });
          let session = await sessions.load(undefined);
          for (const step of [...ops, { op: "commit" as const, advance: 0 }]) {
            const before = session.all();
            try {
              await apply(session, step, clock.now());
            } catch (error) {
              // A refused write is typed and changes nothing.
              expect(error).toBeInstanceOf(SessionTooLargeError);
              expect(session.all()).toEqual(before);
              refused++;
              continue;
            }
            if (step.op !== "commit") continue;
            const expected = session.all();
            const headers = await session.commit(); // must not throw
            committed++;
            for (const header of headers) expect(Buffer.byteLength(header)).toBeLessThanOrEqual(4096);
            if (headers.length === 0 || /Max-Age=0/.test(headers[0]!)) continue;
            session = await sessions.load(cookieHeader(headers));
            expect(session.all()).toEqual(expected);
            clock.advance(step.advance);
            session = await sessions.load(cookieHeader(headers));
          }
        }),
        { numRuns: 60, seed: 1108 },
      );
      // The runs did reach the limit: some writes were refused and many commits happened.
      expect(refused).toBeGreaterThan(0);
      expect(committed).toBeGreaterThan(60);
    },
  );
});
