import fc from "fast-check";
import { hostileString } from "./arbitraries.js";

/**
 * Generators of hostile input for the fuzzers. Large or secret parts are markers replaced at run
 * time (`$VALID` a real session's token, `$10K`/`$1M` long values, `$DUPS` a thousand duplicates),
 * so that a shrunk counterexample stays readable.
 */

const tokenLike = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);
const anyText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => String.fromCharCode(...bytes)),
  hostileString,
);

/** A cookie value: garbage, token-like, a real token bent, or a marker. */
const cookieValue = fc.oneof(
  { weight: 3, arbitrary: anyText },
  { weight: 2, arbitrary: tokenLike },
  { weight: 2, arbitrary: fc.constantFrom("$VALID", "$VALID ", '"$VALID"', "$VALID;", "$VALIDx", "%24VALID", "$10K", "$1M") },
  { weight: 1, arbitrary: fc.tuple(tokenLike, anyText).map(([token, tail]) => token + tail) },
);

/** A cookie name: the session's (`$NAME`), a near miss, or anything. */
const cookieName = fc.oneof(
  { weight: 4, arbitrary: fc.constant("$NAME") },
  { weight: 1, arbitrary: fc.constantFrom("sid", "__Host-sid", " $NAME", "$NAME ", "$NAME\u0000", "SID", "__host-sid", "") },
  { weight: 1, arbitrary: anyText },
);

/** A whole Cookie header, as parts joined by separators, or a thousand duplicates of the name. */
export const cookieHeader = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.array(fc.tuple(cookieName, cookieValue), { maxLength: 6 }), fc.constantFrom("; ", ";", ", ", "", ";;", " ; "))
      .map(([pairs, separator]) => pairs.map(([name, value]) => `${name}=${value}`).join(separator)),
  },
  { weight: 1, arbitrary: anyText },
  { weight: 1, arbitrary: fc.constantFrom("$DUPS", "$DUPS; $NAME=$VALID", "$NAME=$VALID; $DUPS") },
);

/** The header with its markers replaced. */
export function materialize(template: string, name: string, valid: string): string {
  return template
    .replaceAll("$DUPS", Array.from({ length: 1000 }, (_, i) => `${name}=${i}`).join("; "))
    .replaceAll("$10K", "A".repeat(10 * 1024))
    .replaceAll("$1M", "B".repeat(1024 * 1024))
    .replaceAll("$NAME", name)
    .replaceAll("$VALID", valid);
}

/** What an HTTP client can put in a header (a ByteString without NUL, CR or LF), for the adapters. */
export const headerSafe = (header: string) => header.replace(/[^\t\x20-\x7e\x80-\xff]/g, "").trim();

// ----- stored records -----

/** superjson meta that does not fit its json: wrong type names, paths into nothing, any JSON. */
const garbageMeta = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    { values: "Date" },
    { values: "map" },
    { values: ["set"] },
    { values: "bigint" },
    { values: "regexp" },
    { values: ["class", "Nope"] },
    { values: { a: ["map"] } },
    { values: "undefined", referentialEqualities: { a: ["b"] } },
    { referentialEqualities: ["x"] },
    { v: 2 },
  ),
);

/** One data entry: a valid one, or any JSON, or a valid shape with garbage meta/exp/flash. */
const entry = fc.oneof(
  { weight: 3, arbitrary: fc.record({ json: fc.jsonValue({ maxDepth: 2 }) }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 3, arbitrary: fc.record({ json: fc.jsonValue({ maxDepth: 2 }), meta: garbageMeta }) },
  {
    weight: 2,
    arbitrary: fc.record(
      {
        json: fc.jsonValue({ maxDepth: 1 }),
        exp: fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.constantFrom(1e300, -1, 8.64e15 + 1)),
        flash: fc.jsonValue({ maxDepth: 0 }),
      },
      { requiredKeys: ["json"] },
    ),
  },
);

/** Keys a data object may hold: the schema's, the core's own (`$expiry`), prototype names, anything. */
const dataKey = fc.oneof(
  fc.constantFrom("userId", "theme", "visits", "notice", "cart", "tags", "seenAt", "$expiry", "__proto__", "constructor"),
  fc.string({ maxLength: 8 }),
);

/** The `data` of a record: a dictionary of (mostly hostile) entries, or a JSON value of any shape. */
export const recordData = fc.oneof(
  { weight: 3, arbitrary: fc.dictionary(dataKey, entry, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Data as the kind of the record's `data` (only a plain object can be a session's data). */
export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A metadata field's value class: what the store writes, an expired time, garbage (corrupt), or odd (no strong claim). */
export type Grade = "ok" | "expired" | "corrupt" | "odd";

/**
 * How a planted record must load: as a session, fresh with `corrupt` reported (B12), fresh,
 * anything typed, or (cached_db) as the row's session whatever the cache held.
 */
export type Expect = "session" | "corrupt" | "fresh" | "any" | "row";

/** The expectation for a record with these metadata grades and data. */
export function expectation(grades: Grade[], data: unknown): Expect {
  if (grades.includes("corrupt")) return "corrupt";
  if (grades.includes("odd")) return "any";
  if (grades.includes("expired")) return "fresh";
  return isPlainObject(data) ? "session" : "corrupt";
}

/** A time field as epoch ms: live, expired, or not a time at all. */
export const graded = <T>(choices: { ok: T[]; expired?: T[]; corrupt?: T[]; odd?: T[] }) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...choices.ok).map((value) => ({ value, grade: "ok" as Grade })) },
    ...(["expired", "corrupt", "odd"] as const)
      .filter((grade) => (choices[grade]?.length ?? 0) > 0)
      .map((grade) => ({
        weight: 1,
        arbitrary: fc.constantFrom(...(choices[grade] as T[])).map((value) => ({ value, grade: grade as Grade })),
      })),
  );
