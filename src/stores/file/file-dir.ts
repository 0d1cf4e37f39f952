import { accessSync, constants, lstatSync, mkdirSync, realpathSync, type Stats } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { SessionConfigError } from "../../errors.js";
import { ownUid } from "./file-io.js";

/**
 * The session directory, checked once at start-up (B5). Whoever can write in it, or swap it or
 * any folder above it for one of their own, can plant a session file for a token of their
 * choosing. So the directory is resolved to its real path (every later path is built from that,
 * so re-pointing a link in the given path later moves nothing), and it must be a directory of
 * this process's user that no one else can enter (0700), below folders that only root or this
 * user can change. All of it is synchronous, as `fileStore` is: a bad directory fails at start-up,
 * never on the first request.
 */

const STICKY = 0o1000; // S_ISVTX, which fs.constants lacks

const fail = (message: string, cause?: unknown) =>
  new SessionConfigError(`fileStore: ${message}`, cause === undefined ? undefined : { cause });

/**
 * The default directory: `sessions` in a per-user folder, `tessera-<uid>` in the OS temp dir,
 * created 0700. The temp dir is world-writable, so anyone could have made that name first: it
 * must be a real directory of ours that no one else can enter, or the store refuses to start.
 */
export function defaultDir(): string {
  if (ownUid === undefined) return join(tmpdir(), "tessera-sessions");
  const own = join(tmpdir(), `tessera-${ownUid}`);
  makePrivate(own);
  return join(own, "sessions");
}

/** Creates `dir` if missing and checks it (see above); its real path, the one every session path starts from. */
export function openDir(dir: string): string {
  const given = resolve(dir);
  makePrivate(given);
  let root: string;
  try {
    root = realpathSync(given);
    accessSync(root, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (cause) {
    throw fail(`cannot use ${given} as the session directory`, cause);
  }
  // Links above `given` are resolved once, here: the checks hold for the real directory.
  if (root !== given) makePrivate(root);
  // POSIX only: Windows has no uids and reports no group/other bits.
  if (ownUid !== undefined) checkAbove(root, ownUid);
  return root;
}

/** Creates `path` (0700) if missing; refuses a link, a non-directory, another user's folder, or one others can enter. */
function makePrivate(path: string): void {
  let info: Stats;
  try {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    info = lstatSync(path);
  } catch (cause) {
    throw fail(`cannot use ${path} as the session directory`, cause);
  }
  if (info.isSymbolicLink()) {
    throw fail(`${path} is a symbolic link; give the real directory (a link can be re-pointed after this check)`);
  }
  if (!info.isDirectory()) throw fail(`${path} is not a directory`);
  if (ownUid === undefined) return;
  if (info.uid !== ownUid) throw fail(`${path} belongs to another user (uid ${info.uid}), who could plant sessions in it`);
  if ((info.mode & 0o077) !== 0) {
    throw fail(`${path} is open to group or others (mode ${(info.mode & 0o777).toString(8)}); chmod it to 700`);
  }
}

/**
 * Every folder above the real directory must be owned by root or this user, and writable by no
 * one else unless sticky (like /tmp, where others cannot rename what is not theirs): otherwise its
 * owner or writers could move the session directory away and put one of their own in its place.
 */
function checkAbove(root: string, uid: number): void {
  for (let child = root, parent = dirname(root); parent !== child; child = parent, parent = dirname(parent)) {
    let info: Stats;
    try {
      info = lstatSync(parent);
    } catch (cause) {
      throw fail(`cannot check ${parent}, above the session directory`, cause);
    }
    if (info.uid !== 0 && info.uid !== uid) {
      throw fail(`${parent}, above the session directory, belongs to another user (uid ${info.uid}), who could swap it`);
    }
    if ((info.mode & 0o022) !== 0 && (info.mode & STICKY) === 0) {
      throw fail(`${parent}, above the session directory, is writable by others without the sticky bit; they could swap it`);
    }
  }
}
