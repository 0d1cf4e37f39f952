import type { StoredEntry } from "../../../store.js";
import { utf8Length } from "../../../utf8.js";

/**
 * `drizzleStore`'s measure of one entry on SQLite for `maxBytes` (B9): the bytes the pair
 * `"key":<entry>` and one separator take in the `data` text, which the store's patch enforces in
 * SQL as the text's length in bytes minus one (0 for `{}`). SQLite keeps the text of each entry
 * as it was given (JSON.stringify's escapes, `1e+21`, `\ud800`) and writes objects compact
 * (`json_group_object`), and the store writes whole records as JSON.stringify does, so for a
 * record with at least one entry the sum of this over its entries is exactly that length: the two
 * braces take the place of the n separators less the one. test/stores/drizzle-sqlite-store.test.ts
 * checks it against the database with random keys and entries.
 */
export function sqliteEntryBytes(key: string, entry: StoredEntry): number {
  return utf8Length(JSON.stringify(key)) + 1 + utf8Length(JSON.stringify(entry)) + 1;
}

/** The SQL measure of a `data` text, as `sqliteEntryBytes` sums: its UTF-8 length less one, 0 for `{}`. */
export function sqliteDataBytes(text: string): number {
  return text === "{}" ? 0 : utf8Length(text) - 1;
}
