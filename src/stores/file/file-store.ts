import { lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Duration, toSeconds } from "../../duration.js";
import { refuseLateWrite, SessionConfigError, SessionStoreError, SessionTooLargeError, SessionUsageError } from "../../errors.js";
import type { SessionStore, StoredData, StoredSession, Where } from "../../store.js";
import { defaultDir, openDir } from "./file-dir.js";
import { errnoOf } from "./file-io.js";
import { breakIfStale, type FileLock, type LockTiming, tryLock, withLocks } from "./file-lock.js";
import { isSessionId, readRecord, SESSION_FILE, writeRecord } from "./file-record.js";

/**
 * The lock's staleness in ms, from `lockStaleAfter` (a `Duration`) or the deprecated
 * `lockTimeout` (a number of ms, its unit unchanged); both at once is a `SessionConfigError`.
 */
function lockStaleMs(options: FileStoreOptions): number {
  const { lockStaleAfter, lockTimeout } = options;
  if (lockStaleAfter !== undefined && lockTimeout !== undefined) {
    throw new SessionConfigError("fileStore: give `lockStaleAfter` (a Duration) or the deprecated `lockTimeout` (ms), not both");
  }
  if (lockTimeout !== undefined) {
    if (typeof lockTimeout !== "number" || !Number.isFinite(lockTimeout) || lockTimeout <= 0) {
      throw new SessionConfigError("fileStore: `lockTimeout` (deprecated) must be a positive number of milliseconds");
    }
    return lockTimeout;
  }
  const ms = toSeconds(lockStaleAfter ?? "10s", "fileStore: `lockStaleAfter`") * 1000;
  if (!(ms >= 1)) throw new SessionConfigError("fileStore: `lockStaleAfter` must be at least 1 ms");
  return ms;
}

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /**
   * Directory of the session files, created (mode 0700) when missing. Checked once, at start-up, on
   * its real path (which every later path is built from): it must be a directory of this process's
   * user, mode 0700 (no group or other bits), not itself a symbolic link, below folders owned by
   * root or this user that no one else can write (unless sticky, like /tmp). Whoever could write
   * there, or swap it, could plant a session for a token of their choosing.
   * @default join(os.tmpdir(), `tessera-${uid}`, "sessions"), the per-user folder created 0700 and checked the same way
   */
  dir?: string;
  /**
   * How long until a lock left by a crashed process is stale and broken, and an abandoned temp
   * file is removed by `purgeExpired`: a `Duration` (a number is seconds, `"10s"`,
   * `{ seconds: 10 }`). A lock is held for one read and one write (milliseconds); a request
   * waiting on a crashed holder's lock waits this long, so the core's `storeTimeout` (5 s by
   * default) may fire first. Waiting gives up after twice this. Not with `lockTimeout`.
   * @default "10s"
   */
  lockStaleAfter?: Duration;
  /**
   * @deprecated Use `lockStaleAfter` (a `Duration`, where a number is seconds). The same setting
   * as a number of **milliseconds**, kept with its old unit so no existing value changes meaning.
   */
  lockTimeout?: number;
  /**
   * Called once for each corrupt or truncated session file that the store itself removed (met by a
   * write under the lock, `purgeExpired` or `create`). `get` does not call it: it throws
   * `SessionCorruptError`, which the core reports to `onEvent` as `corrupt` before deleting the
   * file (B12). Exceptions it throws are ignored.
   * @default a `console.warn` that names no id or file
   */
  onCorrupt?: (id: string, error: unknown) => void;
}

const TEMP_FILE = /^[0-9a-f]{64}\.json\.[0-9a-f]+\.tmp$|^[0-9a-f]{64}\.lock\.[0-9a-f]+\.stale$/;
const LOCK_FILE = /^[0-9a-f]{64}\.lock$/;
const BATCH = 32; // files read at once by a scan: enough to overlap I/O, few enough to spare file descriptors

/**
 * Session store on the local filesystem (Django's `file` backend): one JSON file per session,
 * `${dir}/${id}.json`, named by the token's hash (never the token), mode 0600. For one server or a
 * few processes sharing a disk; use Postgres or Redis beyond that.
 *
 * Every write goes to a temp file in the same directory and is renamed over the target, so a reader
 * sees the old or the new file, never a partial one (R55); a crash mid-write leaves a temp file that
 * `purgeExpired` removes. Files are not fsynced: after a power loss a file may be lost or truncated,
 * and a truncated file is reported as corrupt (R43, B12).
 *
 * Atomic (under a per-session lock file, `${id}.lock`, which works across processes, see
 * `file-lock.ts`): `create`, `patch`, `replace`, `touch`, `delete` and each deletion of
 * `deleteWhere`/`purgeExpired`. `patch`/`replace`/`touch` are update-only: on a record that is gone,
 * expired or a grace shadow they write nothing and return null/false, so a save never resurrects a
 * session (R51); concurrent patches of one session keep each other's keys (R53). `get` takes no lock.
 *
 * Not atomic:
 * - `rotate` holds both locks but writes two files: the new record first, then the old one is deleted
 *   or made a shadow. If that second step fails the new file is removed again (nothing changed); if the
 *   process dies in between, both records stay until they expire: the old token keeps the
 *   pre-rotation data, never later writes.
 * - `find`, `deleteWhere` and `purgeExpired` read every file in the directory (O(n sessions)), with no
 *   snapshot: a session written during the scan may or may not be seen.
 *
 * An id that is not lowercase sha256 hex never reaches a path (R54): it reads as absent, writes to it
 * return null/false, deleting it does nothing; `create` and `rotate` to such an id throw.
 *
 * Nothing in the directory is trusted (B5): names are opened without following links and without
 * blocking on a FIFO, and only a regular file of this process's user is read; anything else under
 * a session file's name is corrupt (`get` throws `SessionCorruptError`). `patch` enforces
 * `maxBytes` under the lock (B9).
 *
 * @throws SessionConfigError when an option is invalid or `dir` cannot be created, is not a writable
 *   directory, is a symbolic link, is open to group or others, belongs to another user, or lies
 *   below a folder someone else could swap it in (see `dir`).
 * @example
 * import { fileStore } from "tesserae/file";
 * export const sessions = defineSession({ schema, store: fileStore({ dir: "/var/lib/myapp/sessions" }) });
 */
export function fileStore(options: FileStoreOptions = {}) {
  const { dir } = options;
  if (dir !== undefined && (typeof dir !== "string" || dir === "" || dir.includes("\0"))) {
    throw new SessionConfigError("fileStore: `dir` must be a non-empty path");
  }
  const lockTimeout = lockStaleMs(options);
  if (options.onCorrupt !== undefined && typeof options.onCorrupt !== "function") {
    throw new SessionConfigError("fileStore: `onCorrupt` must be a function");
  }
  const root = openDir(dir ?? defaultDir());
  const timing: LockTiming = { staleMs: lockTimeout, waitMs: 2 * lockTimeout };
  const onCorrupt = options.onCorrupt ?? (() => console.warn("tessera fileStore: a corrupt session file was removed"));

  /** The file and lock of `id`, or null when `id` is not a session id: nothing else becomes a path. */
  const pathsOf = (id: string) => {
    if (!isSessionId(id)) return null;
    const file = join(root, `${id}.json`);
    // Defence in depth: the alphabet already rules out separators and dots.
    if (dirname(file) !== root) return null;
    return { file, lock: join(root, `${id}.lock`) };
  };
  const report = (id: string, error: unknown) => {
    try {
      onCorrupt(id, error);
    } catch {}
  };
  const live = (record: StoredSession, now: Date) => record.expiresAt.getTime() > now.getTime() && record.successorId === null;
  const matches = (record: StoredSession, where: Where) =>
    Object.entries(where).every(([key, value]) => Object.hasOwn(record.data, key) && record.data[key]?.json === value);

  /** Under the lock: the record if live; an expired one is deleted, a corrupt one deleted and reported. */
  async function readLive(id: string, file: string, now: Date): Promise<StoredSession | null> {
    const found = await readRecord(id, file);
    if (found === null) return null;
    if ("corrupt" in found) {
      await remove(file);
      report(id, found.corrupt);
      return null;
    }
    if (found.record.expiresAt.getTime() <= now.getTime()) await remove(file);
    return live(found.record, now) ? found.record : null;
  }

  /** Read-modify-write of a live record under its lock; null (nothing written) when it is not live. */
  async function update<T>(id: string, now: Date, change: (current: StoredSession) => [StoredSession, T]) {
    const paths = pathsOf(id);
    if (paths === null) return null;
    return withLocks([paths.lock], timing, async () => {
      const current = await readLive(id, paths.file, now);
      if (current === null) return null;
      const [next, result] = change(current);
      await writeRecord(paths.file, next);
      return result;
    });
  }

  /**
   * For clean-ups that may skip a busy session: deletes the file if it is (still, under its lock)
   * expired at `now` or corrupt. True when an expired record went.
   */
  async function dropDead(id: string, now: Date): Promise<boolean> {
    const paths = pathsOf(id);
    const lock: FileLock | null = paths === null ? null : await tryLock(paths.lock, lockTimeout);
    if (paths === null || lock === null) return false;
    try {
      const found = await readRecord(id, paths.file);
      if (found === null || ("record" in found && found.record.expiresAt.getTime() > now.getTime())) return false;
      await remove(paths.file);
      if ("corrupt" in found) report(id, found.corrupt);
      return "record" in found;
    } finally {
      await lock.release();
    }
  }

  /** Every session record in the directory, read `BATCH` at a time; corrupt files are skipped. */
  async function scan(): Promise<StoredSession[]> {
    const ids = (await readdir(root)).flatMap((name) => SESSION_FILE.exec(name)?.[1] ?? []);
    const records: StoredSession[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const reads = await Promise.all(ids.slice(i, i + BATCH).map((id) => readRecord(id, join(root, `${id}.json`))));
      for (const found of reads) if (found !== null && "record" in found) records.push(found.record);
    }
    return records;
  }

  const checkWhere = (where: Where, method: string) => {
    // An empty filter would match every session of every user: refuse it loudly.
    if (Object.keys(where).length === 0) throw new SessionUsageError(`fileStore.${method}: \`where\` names no field`);
  };
  const badId = (method: string) => new SessionStoreError(`fileStore.${method}: the id is not a lowercase sha256 hex digest`);

  return {
    async get(id, now) {
      const paths = pathsOf(id);
      if (paths === null) return null;
      const found = await readRecord(id, paths.file);
      if (found === null) return null;
      // A data problem, not an outage (B12): the core reports it as `corrupt` and deletes the file.
      if ("corrupt" in found) throw found.corrupt;
      if (found.record.expiresAt.getTime() > now.getTime()) return found.record;
      // Expired: remove it under its lock (re-checked there), unless someone holds it.
      // A failure here is harmless: the record is not returned, and purgeExpired retries.
      await dropDead(id, now).catch(() => {});
      return null;
    },

    async create(record) {
      const paths = pathsOf(record.id);
      if (paths === null) throw badId("create");
      await withLocks([paths.lock], timing, async () => {
        const found = await readRecord(record.id, paths.file);
        if (found !== null && "record" in found && found.record.expiresAt.getTime() > record.updatedAt.getTime()) {
          throw new SessionStoreError("a session with this id already exists");
        }
        if (found !== null && "corrupt" in found) {
          await remove(paths.file); // a directory in its place would make the rename fail
          report(record.id, found.corrupt);
        }
        await writeRecord(paths.file, record);
      });
    },

    async replace(record, now, notAfter?) {
      return update(record.id, now, (current) => {
        refuseLateWrite("fileStore", current.updatedAt, notAfter);
        const rev = current.rev + 1;
        return [{ ...record, rev }, rev];
      });
    },

    async patch(id, patch, now) {
      return update(id, now, (current) => {
        refuseLateWrite("fileStore", current.updatedAt, patch.notAfter);
        // `current.data` was just parsed from the file: ours to change.
        const data: StoredData = current.data;
        const before = dataBytes(data);
        for (const key of patch.deleted) delete data[key];
        for (const [key, entry] of Object.entries(patch.set)) {
          // defineProperty, not assignment: a "__proto__" key must stay a key, not become a prototype (R41).
          Object.defineProperty(data, key, { value: entry, enumerable: true, writable: true, configurable: true });
        }
        // Measured on the record as it will be stored, under the lock: concurrent patches of
        // different keys, each within the limit on its own, cannot grow it past (B9). A patch that
        // does not grow a record already past it (a lowered maxBytes) still applies, so it can shrink.
        const bytes = dataBytes(data);
        if (bytes > patch.maxBytes && bytes > before) throw new SessionTooLargeError(bytes, patch.maxBytes);
        const rev = current.rev + 1;
        const { expiresAt, updatedAt, schemaVersion } = patch;
        return [{ ...current, data, expiresAt, updatedAt, schemaVersion, rev }, rev];
      });
    },

    async touch(id, expiresAt, now) {
      // Only the expiry moves: the rev stays, as caches in front compare data by rev.
      return (await update(id, now, (current) => [{ ...current, expiresAt }, true])) ?? false;
    },

    async rotate(oldId, record, graceUntil, now) {
      const from = pathsOf(oldId);
      if (from === null) return false;
      const to = pathsOf(record.id);
      if (to === null) throw badId("rotate");
      if (record.id === oldId) throw new SessionStoreError("fileStore.rotate: the new id is the old one");
      return withLocks([from.lock, to.lock], timing, async () => {
        const old = await readLive(oldId, from.file, now);
        if (old === null) return false;
        const taken = await readRecord(record.id, to.file);
        if (taken !== null && "record" in taken && taken.record.expiresAt.getTime() > now.getTime()) {
          throw new SessionStoreError("a session with this id already exists");
        }
        if (taken !== null && "corrupt" in taken) await remove(to.file);
        await writeRecord(to.file, record);
        const shadow = graceUntil && { ...old, data: {}, expiresAt: graceUntil, successorId: record.id, rev: old.rev + 1 };
        try {
          await (shadow === null ? unlink(from.file) : writeRecord(from.file, shadow));
        } catch (error) {
          // Undo the new record, so that a failure leaves the session as it was.
          await unlink(to.file).catch(() => {});
          throw error;
        }
        return true;
      });
    },

    async delete(id) {
      const paths = pathsOf(id);
      if (paths === null) return;
      // Under the lock, so that a patch that already read the record cannot write it back afterwards.
      await withLocks([paths.lock], timing, () => remove(paths.file));
    },

    async find(where, now, options = {}) {
      checkWhere(where, "find");
      const found = (await scan())
        .filter((record) => live(record, now) && matches(record, where))
        .sort((a, b) => b.updatedAt.getTime() - a.updatedAt.getTime());
      return options.limit === undefined ? found : found.slice(0, options.limit);
    },

    async deleteWhere(where, options = {}) {
      checkWhere(where, "deleteWhere");
      const candidates = (await scan()).filter((record) => record.id !== options.exceptId && matches(record, where));
      const deleted: string[] = [];
      for (const { id } of candidates) {
        const paths = pathsOf(id);
        if (paths === null) continue;
        // Re-checked under the lock: a session whose field changed since the scan stays.
        await withLocks([paths.lock], timing, async () => {
          const found = await readRecord(id, paths.file);
          if (found === null || !("record" in found) || !matches(found.record, where)) return;
          await remove(paths.file);
          deleted.push(id);
        });
      }
      return deleted;
    },

    async purgeExpired(now, batchSize) {
      const names = await readdir(root);
      // Leftovers of crashed writers and lock breakers; a write holds its temp file far less than lockTimeout.
      for (const name of names) {
        const path = join(root, name);
        if (TEMP_FILE.test(name)) {
          const info = await lstat(path).catch(() => null);
          if (info !== null && Date.now() - info.mtimeMs > lockTimeout) await unlink(path).catch(() => {});
        } else if (LOCK_FILE.test(name)) {
          await breakIfStale(path, lockTimeout).catch(() => {});
        }
      }
      const ids = names.flatMap((name) => SESSION_FILE.exec(name)?.[1] ?? []);
      let count = 0;
      for (let i = 0; i < ids.length && count < batchSize; i += BATCH) {
        const chunk = ids.slice(i, i + BATCH);
        const reads = await Promise.all(chunk.map((id) => readRecord(id, join(root, `${id}.json`))));
        for (const [j, found] of reads.entries()) {
          if (count >= batchSize) break;
          const dead = found !== null && ("corrupt" in found || found.record.expiresAt.getTime() <= now.getTime());
          // A session locked by someone else is skipped: it is being written, or the next purge gets it.
          if (dead && (await dropDead(chunk[j] as string, now))) count++;
        }
      }
      return count;
    },
  } satisfies SessionStore;
}

/** Σ over entries of the UTF-8 length of `JSON.stringify(entry)`: `SessionStore.entryBytes`' default, which the core measures `set()` with. */
function dataBytes(data: StoredData): number {
  let bytes = 0;
  for (const entry of Object.values(data)) bytes += Buffer.byteLength(JSON.stringify(entry), "utf8");
  return bytes;
}

/**
 * Removes whatever has a session file's name: the file, a link (never its target), a FIFO, or an
 * empty directory. A non-empty directory stays (it keeps reading as corrupt: a fresh session each
 * time, never an outage); a name already gone is what the caller wanted.
 */
async function remove(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    const code = errnoOf(error);
    if (code === "ENOENT") return;
    // unlink(2) of a directory: EISDIR on Linux, EPERM on macOS and the BSDs.
    if (code !== "EISDIR" && code !== "EPERM") throw error;
    if (!(await lstat(file)).isDirectory()) throw error;
    await rmdir(file).catch((failure: unknown) => {
      if (!["ENOENT", "ENOTEMPTY", "EEXIST"].includes(errnoOf(failure) as string)) throw failure;
    });
  }
}
