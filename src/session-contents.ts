import { EncodeFailure, encodeValue, entryBytes } from "./codec.js";
import { SessionTooLargeError, SessionValidationError } from "./errors.js";
import { EXPIRY_KEY, type Hydrated, parseField, type SchemaRuntime } from "./schema.js";
import type { StoredData, StoredEntry } from "./store.js";

/**
 * A session's data and what this request changed in it: decoded values beside their encoded
 * entries, the keys set and deleted since load, and the encoded size. Writes are validated,
 * encoded and size-checked before anything changes, so a failing write leaves no trace. The
 * `Session` class adds the lifecycle (saving, rotation, cookies) on top.
 */
export class SessionContents {
  readonly #runtime: SchemaRuntime;
  readonly #nowMs: () => number;
  readonly #maxBytes: number;
  readonly #values: Map<string, unknown>;
  readonly #entries: Map<string, StoredEntry>;
  #sizes: Map<string, number> | null = null;
  readonly #dirty = new Set<string>();
  readonly #deleted = new Set<string>();
  /** Keys dropped at load (expired, invalid) ride along with the next write but do not make one; user deletes do. */
  #userDeleted = false;
  /** The next save must replace the whole record (`clear()`, migrated data). */
  #replaceAll: boolean;

  constructor(runtime: SchemaRuntime, nowMs: () => number, maxBytes: number, hydrated: Hydrated | null) {
    this.#runtime = runtime;
    this.#nowMs = nowMs;
    this.#maxBytes = maxBytes;
    this.#values = hydrated?.values ?? new Map();
    this.#entries = hydrated?.entries ?? new Map();
    for (const key of hydrated?.dropped ?? []) this.#deleted.add(key);
    this.#replaceAll = hydrated?.migrated ?? false;
  }

  /** Whether `key` holds a value that has not reached its own expiry. */
  live(key: string): boolean {
    if (!this.#values.has(key)) return false;
    const exp = this.#entries.get(key)?.exp;
    return exp === undefined || exp > this.#nowMs();
  }

  value(key: string): unknown {
    return this.#values.get(key);
  }

  entry(key: string): StoredEntry | undefined {
    return this.#entries.get(key);
  }

  /** Validates, encodes and stores one value; throws before anything changes. */
  write(key: string, value: unknown, extra: { exp?: number; flash?: true } = {}): void {
    const parsed = parseField(this.#runtime, key, value);
    const encoded = encode(key, parsed, extra);
    this.#checkSize([[key, encoded.bytes]]);
    this.#commit(key, parsed, encoded.entry, encoded.bytes);
  }

  /** Several values at once: all are validated and the total size checked before any is stored. */
  writeAll(values: Record<string, unknown>): void {
    const encoded = Object.keys(values).map((key) => {
      const parsed = parseField(this.#runtime, key, values[key]);
      return [key, parsed, encode(key, parsed, {})] as const;
    });
    this.#checkSize(encoded.map(([key, , e]) => [key, e.bytes]));
    for (const [key, parsed, e] of encoded) this.#commit(key, parsed, e.entry, e.bytes);
  }

  /** Stores an entry the core keeps beside the user's data (`$expiry`). */
  writeEntry(key: string, entry: StoredEntry): void {
    this.#commit(key, undefined, entry, entryBytes(entry));
  }

  /** Removes `key`; with `stored`, the next save deletes it from the record. */
  remove(key: string, stored: boolean): void {
    if (!this.#values.has(key) && !this.#entries.has(key)) return;
    this.#values.delete(key);
    this.#entries.delete(key);
    this.#sizes?.delete(key);
    this.#dirty.delete(key);
    if (stored && !this.#replaceAll) {
      this.#deleted.add(key);
      this.#userDeleted = true;
    }
  }

  /** Empties everything; the next save replaces the whole record. */
  clear(): void {
    this.#values.clear();
    this.#entries.clear();
    this.#sizes = new Map();
    this.#dirty.clear();
    this.#deleted.clear();
    this.#replaceAll = true;
  }

  /** The data's keys (not `$`-entries). */
  keys(): IterableIterator<string> {
    return this.#values.keys();
  }

  get isModified(): boolean {
    return this.#replaceAll || this.#dirty.size > 0 || this.#userDeleted;
  }

  get replacesAll(): boolean {
    return this.#replaceAll;
  }

  get hasData(): boolean {
    return this.#values.size > 0;
  }

  /** Every entry, for a whole-record write. */
  toStoredData(): StoredData {
    const data: StoredData = {};
    for (const [key, entry] of this.#entries) data[key] = entry;
    return data;
  }

  /** What changed since load, for a patch: entries set and keys deleted. */
  changes(): { set: StoredData; deleted: string[] } {
    const set: StoredData = {};
    for (const key of this.#dirty) set[key] = this.#entries.get(key) as StoredEntry;
    return { set, deleted: [...this.#deleted] };
  }

  /** The store holds what this object holds: nothing is pending any more. */
  markSaved(): void {
    this.#dirty.clear();
    this.#deleted.clear();
    this.#replaceAll = false;
    this.#userDeleted = false;
  }

  /** A fresh start after `destroy()`: nothing held, nothing pending. */
  reset(): void {
    this.clear();
    this.markSaved();
  }

  #checkSize(changes: ReadonlyArray<readonly [string, number]>): void {
    const sizes = this.#entrySizes();
    let total = 0;
    for (const bytes of sizes.values()) total += bytes;
    for (const [key, bytes] of changes) total += bytes - (sizes.get(key) ?? 0);
    if (total > this.#maxBytes) throw new SessionTooLargeError(total, this.#maxBytes);
  }

  // Sizes of loaded entries are measured only once a write needs them, keeping JSON.stringify off the read path.
  #entrySizes(): Map<string, number> {
    if (this.#sizes === null) {
      this.#sizes = new Map();
      for (const [key, entry] of this.#entries) this.#sizes.set(key, entryBytes(entry));
    }
    return this.#sizes;
  }

  #commit(key: string, value: unknown, entry: StoredEntry, bytes: number): void {
    if (key !== EXPIRY_KEY) this.#values.set(key, value);
    this.#entries.set(key, entry);
    this.#entrySizes().set(key, bytes);
    this.#dirty.add(key);
    this.#deleted.delete(key);
  }
}

function encode(key: string, value: unknown, extra: { exp?: number; flash?: true }): { entry: StoredEntry; bytes: number } {
  const encoded = encodeValue(value, extra);
  if (encoded instanceof EncodeFailure) {
    throw new SessionValidationError(key, [{ code: "custom", path: [], message: encoded.reason }]);
  }
  return encoded;
}
