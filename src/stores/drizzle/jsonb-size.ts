import type { StoredEntry } from "../../store.js";
import { utf8Length } from "../../utf8.js";

/**
 * `drizzleStore`'s measure of one entry for `maxBytes` (B9): the bytes the pair `"key": <entry>`
 * and its `, ` separator take in Postgres' text form of the `data` jsonb, which the store's patch
 * enforces in SQL as `octet_length(data::text)`. For a record with at least one entry the sum of
 * this over its entries is exactly that length: the two braces take the place of the separator
 * the last pair does not have. (An empty record is `{}`, 2 bytes; the SQL allows it whatever the limit.)
 *
 * jsonb's text form differs from `JSON.stringify` in three ways, all mirrored here: a space after
 * every `:` and `,`; numbers printed as Postgres `numeric` prints them, never in exponent form
 * (`1e21` → 22 digits, `1.5e-7` → `0.00000015`); keys deduplicated and sorted, which changes no
 * length (a JavaScript object has no duplicate keys). Strings escape as JSON.stringify does them:
 * `"`, `\`, `\b\f\n\r\t`, other controls as `\u00xx`, everything else as raw UTF-8 (U+0000 and
 * lone surrogates, which jsonb cannot hold, are refused by the core at `set()`).
 */
export function jsonbEntryBytes(key: string, entry: StoredEntry): number {
  return stringBytes(key) + 2 + jsonbTextBytes(JSON.stringify(entry)) + 2;
}

/**
 * The UTF-8 length of jsonb's text form of the value whose JSON.stringify text is `json`: one
 * pass over the text (no recursion, so a value nested thousands of levels deep cannot exhaust
 * the stack), adding a byte for each `:` and `,` outside strings and expanding exponent numbers.
 * Strings, most of a session's text, are skipped with `indexOf` rather than walked a character
 * at a time (this runs over every entry of a record at its first write in a request).
 */
export function jsonbTextBytes(json: string): number {
  let extra = 0;
  const n = json.length;
  for (let i = 0; i < n; ) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(json, i);
    else if (c === COLON || c === COMMA) {
      extra++;
      i++;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      const start = i;
      let exponent = false;
      for (i++; i < n; i++) {
        const d = json.charCodeAt(i);
        if (d === LOWER_E || d === UPPER_E) exponent = true;
        else if (!((d >= ZERO && d <= NINE) || d === DOT || d === PLUS || d === MINUS)) break;
      }
      if (exponent) extra += numberBytes(Number(json.slice(start, i))) - (i - start);
    } else i++;
  }
  return utf8Length(json) + extra;
}

/** The index just past the string whose opening quote is at `open`: its first quote not escaped by an odd run of backslashes. */
function stringEnd(json: string, open: number): number {
  for (let close = json.indexOf('"', open + 1); close !== -1; close = json.indexOf('"', close + 1)) {
    let backslashes = 0;
    for (let k = close - 1; json.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return close + 1;
  }
  return json.length;
}

const [QUOTE, BACKSLASH, COLON, COMMA, MINUS, PLUS, DOT, ZERO, NINE, LOWER_E, UPPER_E] = [...'"\\:,-+.09eE'].map((c) =>
  c.charCodeAt(0),
) as [number, number, number, number, number, number, number, number, number, number, number];

const stringBytes = (text: string) => utf8Length(JSON.stringify(text));

/**
 * The length of `numeric`'s output for a JavaScript number: its shortest round-trip digits, as
 * JSON.stringify writes them, with any exponent expanded into zeros.
 */
function numberBytes(value: number): number {
  const text = JSON.stringify(value);
  const e = text.indexOf("e");
  if (e === -1) return text.length;
  const sign = text.startsWith("-") ? 1 : 0;
  const digits = text.slice(sign, e).replace(".", "").length;
  const exponent = Number(text.slice(e + 1));
  // d.ddd × 10^exponent: `exponent + 1` digits before the point.
  if (exponent >= 0) return sign + Math.max(digits, exponent + 1) + (digits > exponent + 1 ? 1 : 0);
  return sign + 2 + (-exponent - 1) + digits;
}
