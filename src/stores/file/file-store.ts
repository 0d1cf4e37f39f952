import { accessSync, constants, mkdirSync, statSync } from "node:fs";
import { readdir, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { SessionConfigError, SessionStoreError } from "../../errors.js";
import type { SessionStore, StoredData, StoredSession, Where } from "../../store.js";
import { breakIfStale, type FileLock, type LockTiming, tryLock, withLocks } from "./file-lock.js";
import { ignoreMissing, isSessionId, readRecord, SESSION_FILE, writeRecord } from "./file-record.js";

/** Options of {@link fileStore}. */
export interface FileStoreOptions {
  /**
   * Directory of the session files, created (mode 0700) when missing. It must be writable and must
   * not be writable by group or others, nor owned by another user: whoever can write there can
   * plant a session for a token of their choosing.
   * @default join(os.tmpdir(), "tessera-sessions")
   */
  dir?: string;
  /**
   * Milliseconds after which a lock left by a crashed process is stale and broken, and after which
   * an abandoned temp file is removed by `purgeExpired`. A lock is held for one read and one write
   * (milliseconds); a request waiting on a crashed holder's lock waits this long, so the core's
   * `storeTimeout` (5 s by default) may fire first. Waiting gives up after twice this.
   * @default 10_000
   */
  lockTimeout?: number;
  /**
   * Called once for each corrupt or truncated session file, after it was removed; the session
   * reads as absent (R43). Exceptions it throws are ignored.
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
 * and a truncated file reads as an absent session (R43).
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
 * @throws SessionConfigError when an option is invalid or `dir` cannot be created, is not a writable
 *   directory, is writable by group or others, or belongs to another user.
 * @example
 * import { fileStore } from "tessera/file";
 * export const sessions = defineSession({ schema, store: fileStore({ dir: "/var/lib/myapp/sessions" }) });
 */
export function fileStore(options: FileStoreOptions = {}) {
  const { dir = join(tmpdir(), "tessera-sessions"), lockTimeout = 10_000 } = options;
  if (typeof dir !== "string" || dir === "" || dir.includes("\0")) {
    throw new SessionConfigError("fileStore: `dir` must be a non-empty path");
  }
  if (typeof lockTimeout !== "number" || !Number.isFinite(lockTimeout) || lockTimeout <= 0) {
    throw new SessionConfigError("fileStore: `lockTimeout` must be a positive number of milliseconds");
  }
  if (options.onCorrupt !== undefined && typeof options.onCorrupt !== "function") {
    throw new SessionConfigError("fileStore: `onCorrupt` must be a function");
  }
  const root = openDir(dir);
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
      await unlink(file).catch(ignoreMissing);
      report(id, found.corrupt);
      return null;
    }
    if (found.record.expiresAt.getTime() <= now.getTime()) await unlink(file).catch(ignoreMissing);
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
      await unlink(paths.file).catch(ignoreMissing);
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
    if (Object.keys(where).length === 0) throw new SessionConfigError(`fileStore.${method}: \`where\` names no field`);
  };
  const badId = (method: string) => new SessionStoreError(`fileStore.${method}: the id is not a lowercase sha256 hex digest`);

  return {
    async get(id, now) {
      const paths = pathsOf(id);
      if (paths === null) return null;
      const found = await readRecord(id, paths.file);
      if (found !== null && "record" in found && found.record.expiresAt.getTime() > now.getTime()) return found.record;
      // Expired or corrupt: remove it under its lock (re-checked there), unless someone holds it.
      // A failure here is harmless: the record is not returned, and purgeExpired retries.
      if (found !== null) await dropDead(id, now).catch(() => {});
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
        await writeRecord(paths.file, record);
        if (found !== null && "corrupt" in found) report(record.id, found.corrupt);
      });
    },

    async replace(record, now) {
      return update(record.id, now, (current) => {
        const rev = current.rev + 1;
        return [{ ...record, rev }, rev];
      });
    },

    async patch(id, patch, now) {
      return update(id, now, (current) => {
        // `current.data` was just parsed from the file: ours to change.
        const data: StoredData = current.data;
        for (const key of patch.deleted) delete data[key];
        for (const [key, entry] of Object.entries(patch.set)) {
          // defineProperty, not assignment: a "__proto__" key must stay a key, not become a prototype (R41).
          Object.defineProperty(data, key, { value: entry, enumerable: true, writable: true, configurable: true });
        }
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
      await withLocks([paths.lock], timing, () => unlink(paths.file).catch(ignoreMissing));
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
          await unlink(paths.file).catch(ignoreMissing);
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
          const info = await stat(path).catch(() => null);
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

/** Creates `dir` if missing and checks it is a private, writable directory; its absolute path. */
function openDir(dir: string): string {
  const root = resolve(dir);
  let info: ReturnType<typeof statSync>;
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    accessSync(root, constants.R_OK | constants.W_OK | constants.X_OK);
    info = statSync(root);
  } catch (cause) {
    throw new SessionConfigError(`fileStore: cannot use ${root} as the session directory`, { cause });
  }
  if (!info.isDirectory()) throw new SessionConfigError(`fileStore: ${root} is not a directory`);
  // POSIX only (Windows has no uid and reports no group/other bits).
  if (typeof process.getuid === "function") {
    if ((info.mode & 0o022) !== 0) {
      throw new SessionConfigError(`fileStore: ${root} is writable by group or others; chmod it to 700`);
    }
    if (info.uid !== process.getuid()) throw new SessionConfigError(`fileStore: ${root} belongs to another user`);
  }
  return root;
}
