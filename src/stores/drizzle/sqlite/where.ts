import type { SQL } from "drizzle-orm";
import { is, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { SQLiteBoolean, SQLiteText } from "drizzle-orm/sqlite-core";
import { SessionUsageError } from "../../../errors.js";
import type { Where } from "../../../store.js";

/**
 * One condition per `where` field, matching the JSON type exactly: SQLite compares loosely
 * (`json_extract` gives true as 1, and a text column holds the number 1 as '1'), so a string
 * matches only a JSON string, a number only a JSON number, a boolean only that JSON literal.
 * With an indexed column of the value's own kind (text for a string, a number column for a
 * number, a boolean one for a boolean) the column finds the rows and `json_type` on the field
 * confirms each. Otherwise (no column, or one of another kind: SQLite compares a generated
 * column's value by its expression, without the column's affinity, so the number 1 never equals
 * the '1' a text column holds for it) the entry is looked up with `json_each`, which takes any key
 * as it is (no JSON path to quote). better-sqlite3 binds no booleans: none is ever bound.
 */
export function whereConditions(data: SQLiteColumn, indexed: ReadonlyMap<string, SQLiteColumn>, where: Where): SQL[] {
  return Object.entries(where).map(([field, value]) => {
    const kind = typeof value;
    if (!(kind === "string" || kind === "boolean" || (kind === "number" && Number.isFinite(value)))) {
      throw new SessionUsageError(`where: "${field}" must be a string, a finite number or a boolean`);
    }
    if (loneSurrogate.test(field) || (typeof value === "string" && loneSurrogate.test(value))) {
      // libSQL binds such a string with U+FFFD in its place: it would match another user's
      // "\ufffd" (test/attacks/issue16-sqlite-where-surrogates.test.ts). No stored key or value
      // holds one (the core and the store refuse them), so the filter could match nothing honest.
      throw new SessionUsageError(`where: "${field}" holds a lone surrogate, which no stored session can hold`);
    }
    const column = indexed.get(field);
    if (column !== undefined && valueKind(column) === kind) {
      // A plain identifier (sessionsTable checked it): a valid JSON path step as it is.
      const type = sql`json_type(${data}, ${`$.${field}.json`})`;
      if (typeof value === "boolean")
        return sql`(${column} = ${value ? 1 : 0} and ${readable(data, sql`${type} = ${String(value)}`)})`;
      return sql`(${column} = ${value} and ${readable(data, typeMatches(type, value))})`;
    }
    const entry = sql`json_each.value`;
    const type = sql`json_type(${entry}, '$.json')`;
    const equal = typeof value === "boolean" ? sql`` : sql` and json_extract(${entry}, '$.json') = ${value}`;
    const typed = typeof value === "boolean" ? sql`${type} = ${String(value)}` : typeMatches(type, value);
    // Only an entry that is an object is read as JSON: json_each gives a string entry (a row
    // written by hand, `{"userId":"u1"}`) as its bare text, on which json_type raises and failed
    // every lookup by that field for everyone (test/attacks/issue16-sqlite-entries.test.ts).
    return readable(
      data,
      sql`exists (select 1 from json_each(${data}) where json_each.key = ${field}
        and (case when json_each.type = 'object' then ${typed}${equal} else 0 end))`,
    );
  });
}

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const loneSurrogate = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * `condition` over `data`, false for a row whose data is not JSON text: SQLite's JSON functions
 * raise an error on such a row, and one corrupt row must not fail a lookup of every session
 * (`get` reports it when its own session loads). CASE evaluates its branch only when taken.
 */
function readable(data: SQLiteColumn, condition: SQL): SQL {
  return sql`(case when json_valid(${data}) then ${condition} else 0 end)`;
}

/** The kind of `where` value an indexed column holds as it is: what its index can look up. */
function valueKind(column: SQLiteColumn): "string" | "number" | "boolean" {
  if (is(column, SQLiteText)) return "string";
  if (is(column, SQLiteBoolean)) return "boolean";
  return "number";
}

function typeMatches(type: SQL, value: string | number): SQL {
  return typeof value === "string" ? sql`${type} = 'text'` : sql`${type} in ('integer', 'real')`;
}
