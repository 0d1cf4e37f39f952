/**
 * drizzleStore's measure of an entry (B9) against Postgres itself: over random entries (strings
 * full of quotes, backslashes, controls and Unicode; numbers in and out of exponent form;
 * nesting), the sum of `entryBytes` over a record is `octet_length(data::text)` on PGlite, as
 * the store's patch enforces it.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredData, StoredEntry } from "../../src/store.js";
import { jsonbEntryBytes } from "../../src/stores/drizzle/jsonb-size.js";
import { openPglite, type TestDatabase } from "../helpers/databases.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await openPglite();
});
afterAll(() => database.close());

const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// jsonb cannot hold U+0000 (the core refuses it at set()); lone surrogates neither.
const text = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.array(fc.constantFrom("\\", '"', "a", "\u0001", "\n"), { maxLength: 10 }).map((chars) => chars.join("")),
  )
  .filter((s) => !s.includes("\u0000") && !loneSurrogate.test(s));
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(1e21, -1.5e-7, 5e-324, 1.7976931348623157e308, -0),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(text, tie("value"), { maxKeys: 3 }),
  ),
})).value;
const entry = fc.record({ json }, { requiredKeys: ["json"] });
const record = fc.dictionary(text, entry, { minKeys: 1, maxKeys: 5 });

describe("drizzleStore's entryBytes (B9)", () => {
  it("summed over a record is octet_length(data::text)", async () => {
    await fc.assert(
      fc.asyncProperty(record, async (data) => {
        // Through JSON, as the store sends it: -0 becomes 0, an own __proto__ key stays a key.
        const sent = JSON.parse(JSON.stringify(data)) as StoredData;
        const [row] = await database.query("select octet_length($1::jsonb::text) as n", [JSON.stringify(sent)]);
        const measured = Object.entries(sent).reduce((sum, [key, value]) => sum + jsonbEntryBytes(key, value as StoredEntry), 0);
        expect(measured).toBe(Number(row?.n));
      }),
      { numRuns: 400 },
    );
  });
});
