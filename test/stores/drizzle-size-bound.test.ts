/**
 * The Drizzle store's patch tries a cheap size test before the exact one (B9): the merged
 * record's jsonb text is never longer than the row's plus the patch's, both in jsonb's own text
 * form. If that bound ever failed, a patch could grow a record past `maxBytes`; this checks it on
 * real Postgres (PGlite) over random records and patches, unicode and nesting included.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openPglite, type TestDatabase } from "../helpers/databases.js";

let database: TestDatabase;
beforeAll(async () => {
  database = await openPglite();
});
afterAll(() => database.close());

const text = fc.string({ unit: "binary", maxLength: 12 }).filter((s) => !s.includes("\u0000"));
const key = fc.oneof(fc.constantFrom("a", "b", "cart", "userId", "é", "k\u2028"), text);
const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(key, tie("value"), { maxKeys: 3 }),
  ),
})).value;
const record = fc.dictionary(key, fc.record({ json }), { maxKeys: 6 });

describe("drizzleStore's cheap size bound (B9)", () => {
  it("octet_length(((data - deleted) || set)::text) <= octet_length(data::text) + octet_length(set::text)", async () => {
    await fc.assert(
      fc.asyncProperty(record, record, fc.array(key, { maxLength: 3 }), async (data, set, deleted) => {
        const [row] = await database.query(
          `select octet_length((($1::jsonb - $3::text[]) || $2::jsonb)::text) as merged,
                  octet_length($1::jsonb::text) + octet_length($2::jsonb::text) as bound`,
          [JSON.stringify(data), JSON.stringify(set), deleted],
        );
        expect(Number(row?.merged)).toBeLessThanOrEqual(Number(row?.bound));
      }),
      { numRuns: 300 },
    );
  });
});
