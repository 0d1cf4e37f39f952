import { constants } from "node:fs";
import { type FileHandle, open, unlink } from "node:fs/promises";

/**
 * Opening names in the session directory without trusting what they are (B5): a name is never
 * followed if it is a symbolic link (`O_NOFOLLOW`), opening a FIFO never blocks (`O_NONBLOCK`:
 * the open returns at once and the check below refuses it), files are created only where
 * nothing exists (`O_EXCL`, which also refuses a dangling link), and a file is read only if
 * `fstat` of the opened descriptor says it is a regular file of this process's user, so no
 * swap between a check and the read can slip another file in.
 */

// Windows has neither flag (nor symbolic links an unprivileged user can make).
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const READ = constants.O_RDONLY | O_NOFOLLOW | O_NONBLOCK;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW;

/**
 * Larger files are not read (corrupt): no session is near this (`maxBytes` defaults to 64 KiB),
 * and reading one would hold that much memory per request, or fail past V8's string limit
 * (~512 MiB) with an error that is not a data problem.
 */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** The user every file and the directory must belong to; undefined where there are no uids (Windows). */
export const ownUid: number | undefined = process.geteuid?.();

/** A name in the directory that is not a regular file of ours: a link, FIFO, directory, socket, or another user's file. */
export class UnsafeFileError extends Error {
  override readonly name = "UnsafeFileError";
}

export const errnoOf = (error: unknown) => (error as { code?: unknown } | null)?.code;

// What open(O_NOFOLLOW) answers for a link: ELOOP (Linux, macOS), EMLINK (FreeBSD), EFTYPE (NetBSD). ENXIO: a socket.
const REFUSED_OPEN = new Set(["ELOOP", "EMLINK", "EFTYPE", "ENXIO"]);

/**
 * The text of `path` if it is a regular file owned by this process's user; null when nothing is
 * there. Throws `UnsafeFileError` for anything else found under that name; I/O errors as they are.
 */
export async function readOwnFile(path: string): Promise<string | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, READ);
  } catch (error) {
    if (errnoOf(error) === "ENOENT") return null;
    if (REFUSED_OPEN.has(errnoOf(error) as string)) throw new UnsafeFileError("a symbolic link or socket", { cause: error });
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new UnsafeFileError("not a regular file");
    if (ownUid !== undefined && info.uid !== ownUid) throw new UnsafeFileError("a file of another user");
    if (info.size > MAX_FILE_BYTES) throw new UnsafeFileError("a file over 256 MiB");
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}

/**
 * Creates `path` (mode 0600) holding `text`; fails with EEXIST if anything, a link included, has
 * that name. A file it created but could not fill is removed again.
 */
export async function createFile(path: string, text: string): Promise<void> {
  const handle = await open(path, CREATE, 0o600);
  try {
    await handle.writeFile(text);
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => {});
    await unlink(path).catch(() => {});
    throw error;
  }
}
