import type { StoredEntry } from "../../../store.js";
import { utf8Length } from "../../../utf8.js";

/**
 * The MySQL store's measure of one entry for `maxBytes` (B9): the bytes the pair `"key": <entry>`
 * and its `, ` separator take in MariaDB's text of the `data` column, which the store's patch
 * enforces in SQL as `length(data)`. For a record with at least one entry the sum over its entries
 * is exactly that length (the two braces take the place of the last pair's separator; `{}` is 2).
 *
 * MariaDB keeps JSON as text. The store sends every write through `json_extract(?, '$')` (and
 * patches through `json_set`/`json_remove`), which re-render the text as JSON.stringify would
 * with a space after every `:` and `,` outside strings; unlike Postgres' jsonb, strings keep the
 * escapes they were sent with and numbers their text (`1e+21`), so those cost what JSON.stringify
 * wrote. test/stores/drizzle-mysql-store.test.ts checks Σ entryBytes = LENGTH(data) on the server.
 */
export function mysqlEntryBytes(key: string, entry: StoredEntry): number {
  return utf8Length(JSON.stringify(key)) + 2 + mysqlJsonTextBytes(JSON.stringify(entry)) + 2;
}

/** The UTF-8 length of MariaDB's rendering of the JSON text `json` (JSON.stringify output): one more byte per `:` and `,` outside strings. */
export function mysqlJsonTextBytes(json: string): number {
  let extra = 0;
  const n = json.length;
  for (let i = 0; i < n; ) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) i = stringEnd(json, i);
    else {
      if (c === COLON || c === COMMA) extra++;
      i++;
    }
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

const [QUOTE, BACKSLASH, COLON, COMMA] = [...'"\\:,'].map((c) => c.charCodeAt(0)) as [number, number, number, number];

/**
 * MariaDB's JSON functions treat a document nested 32 levels deep or more as invalid: `json_extract`
 * gives NULL, and `json_set` writes that NULL as JSON `null` in place of the value, losing it
 * silently. `data` adds one level around an entry, so an entry may be at most this deep.
 */
export const MYSQL_MAX_ENTRY_DEPTH = 30;

/** The deepest nesting of arrays and objects in the JSON text `json` (brackets inside strings do not count). */
export function jsonDepth(json: string): number {
  let depth = 0;
  let deepest = 0;
  const n = json.length;
  for (let i = 0; i < n; ) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(json, i);
      continue;
    }
    if (c === OPEN_BRACKET || c === OPEN_BRACE) deepest = Math.max(deepest, ++depth);
    else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
    i++;
  }
  return deepest;
}

const [OPEN_BRACKET, CLOSE_BRACKET, OPEN_BRACE, CLOSE_BRACE] = [..."[]{}"].map((c) => c.charCodeAt(0)) as [
  number,
  number,
  number,
  number,
];
