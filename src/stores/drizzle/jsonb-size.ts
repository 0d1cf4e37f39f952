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
  return stringBytes(key) + 2 + valueBytes(entry) + 2;
}

/** The UTF-8 length of `value`'s jsonb text form. Non-JSON values count as JSON.stringify writes them. */
export function valueBytes(value: unknown): number {
  switch (typeof value) {
    case "string":
      return stringBytes(value);
    case "number":
      return Number.isFinite(value) ? numberBytes(value) : 4;
    case "boolean":
      return value ? 4 : 5;
    case "object": {
      if (value === null) return 4;
      if (Array.isArray(value)) {
        let bytes = 2;
        for (let i = 0; i < value.length; i++) bytes += (i > 0 ? 2 : 0) + itemBytes(value[i]);
        return bytes;
      }
      let bytes = 2;
      let pairs = 0;
      for (const name of Object.keys(value)) {
        const item: unknown = (value as Record<string, unknown>)[name];
        // JSON.stringify, which writes what the store sends, leaves these keys out.
        if (item === undefined || typeof item === "function" || typeof item === "symbol") continue;
        bytes += (pairs > 0 ? 2 : 0) + stringBytes(name) + 2 + valueBytes(item);
        pairs++;
      }
      return bytes;
    }
    default:
      return 4;
  }
}

// In an array, JSON.stringify writes undefined, functions and symbols as null.
const itemBytes = (item: unknown) =>
  item === undefined || typeof item === "function" || typeof item === "symbol" ? 4 : valueBytes(item);

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
