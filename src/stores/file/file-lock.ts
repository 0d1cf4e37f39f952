import { randomBytes } from "node:crypto";
import { link, lstat, rename, unlink } from "node:fs/promises";
import { SessionStoreError } from "../../errors.js";
import { createFile, errnoOf, readOwnFile } from "./file-io.js";

/**
 * Advisory locks that work across processes (and hosts sharing the directory): a lock is a file
 * created with `O_CREAT | O_EXCL` (`open(path, "wx")`), which exactly one creator wins on every
 * local filesystem and on NFSv3+. The holder writes its pid, the time and a random token inside;
 * the token is how `release` knows the file is still its own.
 *
 * A holder that crashed leaves its file behind. Such a lock is *stale* once its mtime is older
 * than `staleMs`, and only then is it broken: age is the one thing a waiter can prove about a
 * holder on another host or in another pid namespace, where "is that pid alive?" means nothing.
 * Mtimes come from the filesystem's clock, so hosts sharing a directory need roughly synced clocks.
 */

/** A held lock. */
export interface FileLock {
  /** Removes the lock file if it is still this holder's (a stale-broken lock is left to its new owner). */
  release(): Promise<void>;
}

/** How long to wait for and when to break a lock. */
export interface LockTiming {
  /** Age (ms, by the lock file's mtime) after which a lock is stale and may be broken. */
  staleMs: number;
  /** How long `acquireLock` keeps trying before it throws `SessionStoreError` (ms). */
  waitMs: number;
}

const token = () => randomBytes(8).toString("hex");
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates the lock file exclusively; null when someone else holds it (or anything else has its name). */
async function create(path: string): Promise<FileLock | null> {
  const owner = `${process.pid}\n${new Date().toISOString()}\n${token()}\n`;
  try {
    await createFile(path, owner);
  } catch (error) {
    if (errnoOf(error) === "EEXIST") return null;
    throw error;
  }
  return {
    async release() {
      // Read-then-unlink is not atomic: if this holder outlived `staleMs` and its lock was broken and
      // re-taken in between, the new owner's lock could go. Holders take milliseconds, the timeout seconds.
      const current = await readOwnFile(path).catch(() => null);
      if (current === owner) await unlink(path).catch(() => {});
    },
  };
}

/**
 * Breaks the lock at `path` if it is stale. Returns true when the lock is gone (broken here or
 * released meanwhile), so the caller should try to create it again at once.
 */
export async function breakIfStale(path: string, staleMs: number): Promise<boolean> {
  // lstat: a link in the lock's place is judged (and moved aside) itself, never its target.
  let judged: Awaited<ReturnType<typeof lstat>>;
  try {
    judged = await lstat(path);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return true;
    throw error;
  }
  if (Date.now() - judged.mtimeMs <= staleMs) return false;
  // Unlinking by name could remove a fresh lock another waiter created after breaking the same
  // stale one. Renaming is atomic, so exactly one waiter moves the file, and it can then check that
  // what it moved is the lock it judged (same inode, same mtime) before deleting it.
  const aside = `${path}.${token()}.stale`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return true;
    throw error;
  }
  const moved = await lstat(aside);
  if (moved.ino === judged.ino && moved.mtimeMs === judged.mtimeMs) {
    await unlink(aside).catch(() => {});
    return true;
  }
  // We moved a fresh lock: put it back without overwriting (link fails if yet another exists).
  await link(aside, path).catch(() => {});
  await unlink(aside).catch(() => {});
  return false;
}

/**
 * Waits for the lock at `path`, breaking it once stale, with a jittered exponential back-off
 * (2 ms doubling to 50 ms). Throws `SessionStoreError` after `waitMs`.
 */
export async function acquireLock(path: string, timing: LockTiming): Promise<FileLock> {
  const deadline = Date.now() + timing.waitMs;
  for (let attempt = 0; ; attempt++) {
    const lock = await create(path);
    if (lock !== null) return lock;
    const broken = await breakIfStale(path, timing.staleMs);
    if (Date.now() > deadline) throw new SessionStoreError("fileStore: timed out waiting for a session lock");
    if (!broken) await sleep(Math.min(2 * 2 ** attempt, 50) * (0.5 + Math.random()));
  }
}

/** One attempt (after breaking a stale lock): for clean-ups that may skip a busy session. */
export async function tryLock(path: string, staleMs: number): Promise<FileLock | null> {
  const lock = await create(path);
  if (lock !== null || !(await breakIfStale(path, staleMs))) return lock;
  return create(path);
}

/** Runs `fn` holding the locks at `paths`, taken in sorted order so that two callers never deadlock. */
export async function withLocks<T>(paths: readonly string[], timing: LockTiming, fn: () => Promise<T>): Promise<T> {
  const held: FileLock[] = [];
  try {
    for (const path of [...new Set(paths)].sort()) held.push(await acquireLock(path, timing));
    return await fn();
  } finally {
    for (const lock of held.reverse()) await lock.release();
  }
}
