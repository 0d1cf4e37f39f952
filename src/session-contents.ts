import { EncodeFailure, encodeValue, entryBytes } from "./codec.js";
import { SessionTooLargeError, SessionValidationError } from "./errors.js";
import { EXPIRY_KEY, type Hydrated, INVALID_ENTRY, parseField, readEntry, type SchemaRuntime } from "./schema.js";
import type { StoredData, StoredEntry } from "./store.js";

/** A snapshot of what a save sends: the dirty keys with the entries they held, deletes, whole-record flags. */
export interface PendingChanges {
  readonly entries: ReadonlyMap<string, StoredEntry | undefined>;
  /** The decoded values of `entries`, so `discard` can go back to what this save stored. */
  readonly values: ReadonlyMap<string, unknown>;
  readonly deleted: ReadonlySet<string>;
  readonly replaceAll: boolean;
  readonly clears: number;
  readonly userDeletes: number;
}

/** A key as the store holds it (`discard` goes back to it); null: the store holds none. */
type Saved = { readonly value: unknown; readonly entry: StoredEntry } | null;
/** The value of a `Saved` whose stored entry no one has read (decoded and validated) yet. */
const NOT_READ: unique symbol = Symbol("not read");

/** How a store sizes one entry for `maxBytes` (`SessionStore.entryBytes`). */
export type EntryMeasure = (key: string, entry: StoredEntry) => number;

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
  /** The store's size of an entry (`SessionStore.entryBytes`), so `set()` is checked by the measure the store enforces. */
  readonly #measure: EntryMeasure | undefined;
  /** Called with the whole data a write would leave, before it changes anything; throws to refuse it (B8, cookie stores). */
  readonly #fits: ((data: StoredData) => void) | undefined;
  readonly #values: Map<string, unknown>;
  readonly #entries: Map<string, StoredEntry>;
  /**
   * Lazy entries: keys of `#entries` not yet decoded nor validated, so a request pays for the
   * keys it reads. A read reads its key (`#read`); whatever sizes, lists, clears or sends the
   * data reads them all first (`#readAll`), so a write never keeps an invalid entry and every
   * size check and every saved byte is as if all had been validated at load.
   */
  readonly #unread: Set<string>;
  readonly #reportInvalid: ((keys: string[]) => void) | undefined;
  /** Encoded sizes of entries, measured when first needed (a write replacing that key). */
  readonly #sizes = new Map<string, number>();
  /** Σ of every entry's encoded size; null until a write needs it (reads never measure). */
  #total: number | null;
  /**
   * `#total` is the store's own figure (or zero for a new session) moved only by the sizes of
   * what this request wrote or removed, not re-measured from parsed entries: a row written by
   * hand (a number with more digits than a double keeps) can measure far smaller parsed than
   * stored, so only such a figure is offered to the store (`knownBytes`).
   */
  #sizeExact: boolean;
  readonly #dirty = new Set<string>();
  readonly #deleted = new Set<string>();
  /** Keys dropped at load (expired, invalid) ride along with the next write but do not make one; user deletes do. */
  #userDeleted = false;
  /** Counts of user deletes and `clear()`s, so a save can tell what happened while it was in flight. */
  #userDeletes = 0;
  #clears = 0;
  /** The next save must replace the whole record (`clear()`, migrated data). */
  #replaceAll: boolean;
  /** Whether the store's record itself needs the whole rewrite (migrated at load, not saved since). */
  #storedNeedsReplace: boolean;
  /** Keys dropped at load (expired, invalid): deleted by the next write, whatever `discard` undoes. */
  readonly #dropped: Set<string>;
  /** Keys whose value the request looked at (`value`, `live`, `entry`); null once it listed them all. */
  #looked: Set<string> | null = new Set();
  /**
   * Each key changed since the last save, as the store holds it, recorded at its first change:
   * what `discard` restores. Copy-on-write, so a request that writes nothing copies nothing.
   */
  readonly #undo = new Map<string, Saved>();
  /**
   * The save in flight (saves run one at a time) and what the store will hold after it for each
   * key in `#undo`: a key `discard` restores meanwhile goes back to the old record now and to
   * that save's once it lands, so memory never lags behind the store (a later whole-record
   * write, a rotation, would write the older value back over it).
   */
  #inFlight: { sent: PendingChanges; after: ReadonlyMap<string, Saved> } | null = null;
  /** Keys `discard` restored while `#inFlight` was sending them. */
  readonly #discardedInFlight = new Set<string>();

  constructor(
    runtime: SchemaRuntime,
    nowMs: () => number,
    maxBytes: number,
    hydrated: Hydrated | null,
    measure?: EntryMeasure,
    fits?: (data: StoredData) => void,
  ) {
    this.#fits = fits;
    this.#runtime = runtime;
    this.#nowMs = nowMs;
    this.#maxBytes = maxBytes;
    this.#measure = measure;
    this.#values = hydrated?.values ?? new Map();
    this.#entries = hydrated?.entries ?? new Map();
    this.#unread = hydrated?.unread ?? new Set();
    this.#reportInvalid = hydrated?.reportInvalid;
    this.#dropped = new Set(hydrated?.dropped ?? []);
    for (const key of this.#dropped) this.#deleted.add(key);
    this.#replaceAll = hydrated?.migrated ?? false;
    this.#storedNeedsReplace = this.#replaceAll;
    this.#total = hydrated === null ? 0 : hydrated.bytes;
    this.#sizeExact = this.#total !== null;
  }

  /** Whether `key` holds a value that has not reached its own expiry. */
  live(key: string): boolean {
    this.#looked?.add(key);
    this.#read(key);
    if (!this.#values.has(key)) return false;
    const exp = this.#entries.get(key)?.exp;
    return exp === undefined || exp > this.#nowMs();
  }

  value(key: string): unknown {
    this.#looked?.add(key);
    this.#read(key);
    return this.#values.get(key);
  }

  entry(key: string): StoredEntry | undefined {
    this.#looked?.add(key);
    this.#read(key);
    return this.#entries.get(key);
  }

  /** Validates, encodes and stores one value; throws before anything changes. */
  write(key: string, value: unknown, extra: { exp?: number; flash?: true } = {}): void {
    const parsed = parseField(this.#runtime, key, value);
    const encoded = this.#encode(key, parsed, extra);
    this.#checkSize([[key, encoded.bytes]]);
    this.#checkFits([[key, encoded.entry]]);
    this.#commit(key, parsed, encoded.entry, encoded.bytes);
  }

  /** Several values at once: all are validated and the total size checked before any is stored. */
  writeAll(values: Record<string, unknown>): void {
    const encoded = Object.keys(values).map((key) => {
      const parsed = parseField(this.#runtime, key, values[key]);
      return [key, parsed, this.#encode(key, parsed, {})] as const;
    });
    this.#checkSize(encoded.map(([key, , e]) => [key, e.bytes]));
    this.#checkFits(encoded.map(([key, , e]) => [key, e.entry]));
    for (const [key, parsed, e] of encoded) this.#commit(key, parsed, e.entry, e.bytes);
  }

  /** Stores an entry the core keeps beside the user's data (`$expiry`). */
  writeEntry(key: string, entry: StoredEntry): void {
    this.#checkFits([[key, entry]]);
    this.#commit(key, undefined, entry, this.#bytesOf(key, entry));
  }

  /** Removes `key`; with `stored`, the next save deletes it from the record. */
  remove(key: string, stored: boolean): void {
    this.#read(key);
    if (!this.#values.has(key) && !this.#entries.has(key)) return;
    // `$expiry` back to the policy lengthens a browser-session cookie by its Max-Age and Expires.
    if (key === EXPIRY_KEY && this.#entries.has(key)) this.#checkFits([], key);
    this.#remember(key);
    if (this.#total !== null && this.#entries.has(key)) this.#total -= this.#sizeOf(key);
    this.#values.delete(key);
    this.#entries.delete(key);
    this.#sizes.delete(key);
    this.#dirty.delete(key);
    if (stored && !this.#replaceAll) {
      this.#deleted.add(key);
      this.#userDeleted = true;
      this.#userDeletes++;
    }
  }

  /** Empties everything; the next save replaces the whole record. */
  clear(): void {
    // Read first, so an invalid entry is dropped (and stays deleted after a `discard`) as at load.
    this.#readAll();
    for (const key of this.#entries.keys()) this.#remember(key);
    this.#values.clear();
    this.#entries.clear();
    this.#sizes.clear();
    this.#total = 0;
    this.#sizeExact = true; // from here, only entries this request writes
    this.#dirty.clear();
    this.#deleted.clear();
    this.#replaceAll = true;
    this.#clears++;
  }

  /** The data's keys (not `$`-entries). */
  keys(): IterableIterator<string> {
    this.#looked = null;
    this.#readAll();
    return this.#values.keys();
  }

  get isModified(): boolean {
    return this.#replaceAll || this.#dirty.size > 0 || this.#userDeleted;
  }

  get replacesAll(): boolean {
    return this.#replaceAll;
  }

  /**
   * The keys whose stored value this request has looked at, so far; null when it listed or
   * counted them all (`keys()`, `isEmpty`). What a write may have been decided on.
   */
  get looked(): ReadonlySet<string> | null {
    return this.#looked;
  }

  get hasData(): boolean {
    this.#looked = null;
    this.#readAll();
    return this.#values.size > 0;
  }

  /** Every entry, for a whole-record write: each validated first, so none invalid is written back. */
  toStoredData(): StoredData {
    this.#readAll();
    const data: StoredData = {};
    for (const [key, entry] of this.#entries) data[key] = entry;
    return data;
  }

  /**
   * What changed since load, for a patch: entries set and keys deleted. Entries never read are
   * neither validated nor written: a patch leaves them as stored (docs/decisions.md, lazy entries).
   */
  changes(): { set: StoredData; deleted: string[] } {
    const set: StoredData = {};
    for (const key of this.#dirty) set[key] = this.#entries.get(key) as StoredEntry;
    return { set, deleted: [...this.#deleted] };
  }

  /**
   * The data's size as it stands (Σ of its entries' sizes by the store's measure, entries not yet
   * read included, as stored) when it is the store's figure moved by this request's own writes
   * (`#sizeExact`); null otherwise (a patch then lets the store measure). After `changes()`, it
   * is the size the record will have once the patch is saved.
   */
  knownBytes(): number | null {
    return this.#sizeExact ? this.#total : null;
  }

  /** What a save is about to send, for `markSaved` once the store has it. */
  pending(): PendingChanges {
    const entries = new Map<string, StoredEntry | undefined>();
    const values = new Map<string, unknown>();
    for (const key of this.#dirty) {
      entries.set(key, this.#entries.get(key));
      values.set(key, this.#values.get(key));
    }
    const sent: PendingChanges = {
      entries,
      values,
      deleted: new Set(this.#deleted),
      replaceAll: this.#replaceAll,
      clears: this.#clears,
      userDeletes: this.#userDeletes,
    };
    const after = new Map<string, Saved>();
    for (const [key, saved] of this.#undo) {
      const sends = this.#replaceAll || this.#dirty.has(key) || this.#deleted.has(key);
      after.set(key, sends ? this.#held(key) : saved);
    }
    this.#inFlight = { sent, after };
    this.#discardedInFlight.clear();
    return sent;
  }

  /**
   * The store holds what `sent` described: exactly that stops being pending. A change made while
   * the save was in flight (another procedure of one tRPC batch sharing this session) stays
   * pending for the next save, instead of being marked saved unsent. Without `sent`, everything.
   */
  markSaved(sent?: PendingChanges): void {
    if (sent === undefined) {
      this.#dirty.clear();
      this.#deleted.clear();
      this.#dropped.clear();
      this.#undo.clear();
      this.#inFlight = null;
      this.#discardedInFlight.clear();
      this.#replaceAll = false;
      this.#storedNeedsReplace = false;
      this.#userDeleted = false;
      return;
    }
    for (const [key, entry] of sent.entries) if (this.#entries.get(key) === entry) this.#dirty.delete(key);
    for (const key of sent.deleted) {
      this.#dropped.delete(key);
      if (!this.#dirty.has(key)) this.#deleted.delete(key);
    }
    if (sent.replaceAll) {
      this.#storedNeedsReplace = false;
      this.#dropped.clear();
      if (this.#clears === sent.clears) this.#replaceAll = false;
    }
    if (this.#userDeletes === sent.userDeletes) this.#userDeleted = false;
    // The store now holds what was sent: that is where `discard` goes back to from here.
    for (const key of [...this.#undo.keys()]) {
      if (!this.#dirty.has(key) && !this.#deleted.has(key) && !this.#replaceAll) this.#undo.delete(key);
      else if (sent.entries.has(key)) {
        this.#undo.set(key, { value: sent.values.get(key), entry: sent.entries.get(key) as StoredEntry });
      } else if (sent.replaceAll || sent.deleted.has(key)) this.#undo.set(key, null);
    }
    const inFlight = this.#inFlight;
    this.#inFlight = null;
    // By its entries map: the session spreads what `pending()` returned into its own object.
    if (inFlight?.sent.entries !== sent.entries) return;
    // Keys discarded while this save was in flight went back to the old record; it holds this save's now.
    for (const key of this.#discardedInFlight) {
      const saved = inFlight.after.get(key) ?? null;
      if (this.#undo.has(key) || this.#dirty.has(key) || this.#deleted.has(key)) this.#undo.set(key, saved);
      else this.#restore(key, saved);
    }
    this.#discardedInFlight.clear();
  }

  /**
   * Drops unsaved changes of `keys` (of everything, `clear()` included, when none are given):
   * each goes back to what the store holds, as of the last save. Nothing is validated or
   * measured again: the restored entries are the stored ones.
   */
  discard(keys?: Iterable<string>): void {
    const all = keys === undefined;
    for (const key of all ? [...this.#undo.keys()] : keys) {
      const saved = this.#undo.get(key);
      if (saved === undefined) continue;
      this.#undo.delete(key);
      this.#restore(key, saved);
      if (this.#inFlight?.after.has(key)) this.#discardedInFlight.add(key);
    }
    if (all) {
      this.#replaceAll = this.#storedNeedsReplace;
      // `clear()` forgot which keys were dropped as invalid; the store still holds them.
      for (const key of this.#dropped) if (!this.#entries.has(key)) this.#deleted.add(key);
    }
    this.#userDeleted = [...this.#deleted].some((key) => !this.#dropped.has(key));
  }

  /** A fresh start after `destroy()`: nothing held, nothing pending (entries never read stay unread). */
  reset(): void {
    for (const key of this.#unread) this.#entries.delete(key);
    this.#unread.clear();
    this.clear();
    this.markSaved();
  }

  #checkSize(changes: ReadonlyArray<readonly [string, number]>): void {
    const measure = () => {
      const before = this.#totalBytes();
      let total = before;
      for (const [key, bytes] of changes) total += bytes - this.#storedSize(key);
      return { before, total };
    };
    // Entries not yet read count as stored: a write within the limit with them is within it
    // without any invalid one. Past the limit, everything is read first, so the outcome is
    // decided on the valid data only, as at load: the shrink allowance below must not count an
    // invalid entry (replacing a 100 KB invalid entry with 10 KB is growth, not shrinking).
    let { before, total } = measure();
    if (total > this.#maxBytes && this.#unread.size > 0) {
      this.#readAll();
      ({ before, total } = measure());
    }
    // Growth past the limit is refused; a write that does not grow data already past it (a
    // lowered maxBytes) is not, so such a session can still shrink (as the stores' own check).
    if (total > this.#maxBytes && total > before) throw new SessionTooLargeError(total, this.#maxBytes);
  }

  /** Runs the `fits` check on the data as `toStoredData` would give it after `changes` (same keys, same order). */
  #checkFits(changes: ReadonlyArray<readonly [string, StoredEntry]>, removed?: string): void {
    if (this.#fits === undefined) return;
    this.#readAll();
    const next = new Map(this.#entries);
    for (const [key, entry] of changes) next.set(key, entry);
    if (removed !== undefined) next.delete(removed);
    const data: StoredData = {};
    for (const [key, entry] of next) data[key] = entry;
    this.#fits(data);
  }

  // A loaded session whose store did not report its size is measured once, at its first write.
  #totalBytes(): number {
    if (this.#total === null) {
      let total = 0;
      for (const key of this.#entries.keys()) total += this.#sizeOf(key);
      this.#total = total;
      this.#sizeExact = false;
    }
    return this.#total;
  }

  /** The encoded size of the entry `key` holds now, 0 when it holds none. */
  #storedSize(key: string): number {
    return this.#entries.has(key) ? this.#sizeOf(key) : 0;
  }

  #sizeOf(key: string): number {
    let bytes = this.#sizes.get(key);
    if (bytes === undefined) {
      bytes = this.#bytesOf(key, this.#entries.get(key) as StoredEntry);
      this.#sizes.set(key, bytes);
    }
    return bytes;
  }

  #bytesOf(key: string, entry: StoredEntry): number {
    return this.#measure === undefined ? entryBytes(entry) : this.#measure(key, entry);
  }

  #encode(key: string, value: unknown, extra: { exp?: number; flash?: true }): { entry: StoredEntry; bytes: number } {
    const encoded = encode(key, value, extra);
    return this.#measure === undefined ? encoded : { entry: encoded.entry, bytes: this.#measure(key, encoded.entry) };
  }

  /**
   * Decodes and validates `key` on its first use. An entry that fails is what an invalid entry
   * was at load: absent, deleted by the next write, reported once (the `invalid` event).
   */
  #read(key: string): void {
    if (this.#unread.size === 0 || !this.#unread.delete(key)) return;
    if (this.#decode(key)) return;
    this.#reportInvalid?.([key]);
  }

  /** Every unread key, for what needs the whole data; one `invalid` event for those that fail. */
  #readAll(): void {
    if (this.#unread.size === 0) return;
    const invalid = [...this.#unread].filter((key) => !this.#decode(key));
    this.#unread.clear();
    if (invalid.length > 0) this.#reportInvalid?.(invalid);
  }

  /** `key`'s value from its entry; false (and the key dropped) when it does not decode or validate. */
  #decode(key: string): boolean {
    const value = readEntry(this.#runtime, key, this.#entries.get(key) as StoredEntry);
    if (value !== INVALID_ENTRY) {
      this.#values.set(key, value);
      return true;
    }
    this.#entries.delete(key);
    this.#sizes.delete(key);
    // Measured again over what is left, as a load that dropped a key measures it (no known size).
    this.#total = null;
    this.#dropped.add(key);
    this.#deleted.add(key);
    return false;
  }

  /** `key` back to `saved`, as the store holds it: not pending, nothing to re-validate. */
  #restore(key: string, saved: Saved): void {
    if (saved === null) {
      this.#values.delete(key);
      this.#entries.delete(key);
    } else if (saved.value === NOT_READ) {
      // Back to an entry no one has read: it is validated at its first use, as after the load.
      this.#values.delete(key);
      this.#entries.set(key, saved.entry);
      this.#unread.add(key);
    } else {
      if (key !== EXPIRY_KEY) this.#values.set(key, saved.value);
      this.#entries.set(key, saved.entry);
    }
    this.#sizes.delete(key);
    this.#dirty.delete(key);
    if (this.#dropped.has(key)) this.#deleted.add(key);
    else this.#deleted.delete(key);
    this.#total = null;
  }

  /** `key` as memory holds it now (`NOT_READ` for a stored entry no one has read yet). */
  #held(key: string): Saved {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    return { value: this.#unread.has(key) ? NOT_READ : this.#values.get(key), entry };
  }

  /** Records `key` as the store holds it, before its first change since the last save. */
  #remember(key: string): void {
    if (!this.#undo.has(key)) this.#undo.set(key, this.#held(key));
  }

  #commit(key: string, value: unknown, entry: StoredEntry, bytes: number): void {
    this.#remember(key);
    // Its stored entry, replaced unread, needs no validating.
    this.#unread.delete(key);
    if (this.#total !== null) this.#total += bytes - this.#storedSize(key);
    if (key !== EXPIRY_KEY) this.#values.set(key, value);
    this.#entries.set(key, entry);
    this.#sizes.set(key, bytes);
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
