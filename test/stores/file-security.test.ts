import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmod,
  chown,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  truncate,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/define.js";
import { SessionConfigError, SessionCorruptError, SessionTooLargeError } from "../../src/errors.js";
import type { SessionPatch } from "../../src/store.js";
import { encodeRecord } from "../../src/stores/file/file-record.js";
import { fileStore } from "../../src/stores/file/index.js";
import { createToken, hashToken } from "../../src/token.js";
import { needsOtherUser, otherUser } from "../helpers/other-user.js";
import { RECORD_NOW, storedRecord } from "../helpers/records.js";

/**
 * The file store under attack (issue 11, B5): a second local user who can write where the
 * session directory's path goes, links and special files where session files are expected,
 * hostile names, large files. `nobody` plays the other user (test/helpers/other-user.ts).
 */

const NOW = RECORD_NOW;
const HOUR = 3_600_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);
const newId = () => randomBytes(32).toString("hex");
const uid = process.geteuid?.() ?? -1;

const patchOf = (set: SessionPatch["set"], maxBytes = 65_536): SessionPatch => ({
  set,
  deleted: [],
  expiresAt: at(2 * HOUR),
  updatedAt: at(1000),
  schemaVersion: 1,
  maxBytes,
});
const schema = z.object({ userId: z.string().optional() });
const managerOn = (store: ReturnType<typeof fileStore>, events: string[] = []) =>
  defineSession({ schema, store, now: () => NOW.getTime(), onEvent: (event) => events.push(event.type) });

let outer: string;
/** A folder anyone may create entries in, sticky like /tmp: where the other user plants things. */
let shared: string;

beforeEach(async () => {
  outer = await mkdtemp(join(tmpdir(), "tessera-file-attack-"));
  // The other user must reach `shared`; `outer` stays ours and unwritable by others.
  await chmod(outer, 0o755);
  shared = join(outer, "shared");
  await mkdir(shared);
  await chmod(shared, 0o1777);
});
afterEach(async () => {
  await rm(outer, { recursive: true, force: true });
});

// Assigning undefined to process.env stores the string "undefined".
const restoreTmpdir = (previous: string | undefined) => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
};

/** As the other user: creates `path` as a folder of theirs (mode 0700, or `mode`). */
const theirDir = (path: string, mode = "0o700") =>
  otherUser?.run(`import { mkdirSync } from "node:fs"; mkdirSync(process.argv[1], { recursive: true, mode: ${mode} });`, path);

describe("fileStore: the session directory (B5)", () => {
  it.skipIf(needsOtherUser)(
    "B5: another user who re-points a link in dir's path after start cannot plant a session for a token they chose",
    async () => {
      if (otherUser === null) throw new Error("no second user (setpriv to nobody needs root)");
      const mine = join(outer, "mine");
      await mkdir(mine, { mode: 0o700 });
      const link = join(shared, "app");
      const theirs = join(shared, "theirs");
      // 1. The other user plants a link to a folder that passes every check (ours, 0700).
      otherUser.run(`import { symlinkSync } from "node:fs"; symlinkSync(process.argv[1], process.argv[2]);`, mine, link);
      const store = fileStore({ dir: join(link, "sessions") });
      const sessions = managerOn(store);
      const token = createToken();
      const id = hashToken(token);
      const planted = encodeRecord(storedRecord({ id, data: { userId: { json: "admin" } } }));
      // 2. Then re-points it to a folder of theirs holding a session file for a token of their choosing.
      otherUser.run(
        `import { mkdirSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
         const [theirs, link, id, text] = process.argv.slice(1);
         mkdirSync(theirs + "/sessions", { recursive: true, mode: 0o700 });
         writeFileSync(theirs + "/sessions/" + id + ".json", text, { mode: 0o600 });
         symlinkSync(theirs, link + ".next");
         renameSync(link + ".next", link);`,
        theirs,
        link,
        id,
        planted,
      );
      expect(await readlink(link)).toBe(theirs); // the swap happened
      expect((await stat(join(link, "sessions", `${id}.json`))).uid).toBe(otherUser.uid);

      expect(await store.get(id, NOW)).toBeNull();
      const s = await sessions.load(`${sessions.cookieName}=${token}`);
      expect(s.isNew).toBe(true);
      expect(s.get("userId")).toBeUndefined();
      // What the store writes still goes to the folder it checked at start.
      const ours = storedRecord();
      await store.create(ours);
      expect(await readdir(join(mine, "sessions"))).toEqual([`${ours.id}.json`]);
      expect(await readdir(join(theirs, "sessions"))).toEqual([`${id}.json`]);
    },
  );

  it("B5: a dir that is itself a symbolic link is refused at start-up, even one pointing to a private folder of ours", async () => {
    const mine = join(outer, "mine");
    await mkdir(mine, { mode: 0o700 });
    await symlink(mine, join(shared, "app"));
    expect(() => fileStore({ dir: join(shared, "app") })).toThrow(SessionConfigError);
  });

  it.skipIf(needsOtherUser)("B5: a dir owned by another user (nobody) is refused at start-up", async () => {
    const dir = join(shared, "sessions");
    theirDir(dir);
    expect((await stat(dir)).uid).toBe(otherUser?.uid);
    expect(() => fileStore({ dir })).toThrow(SessionConfigError);
  });

  it("B5: a dir of ours that group or others can read, enter or write (0755, 0750, 0701, 0770) is refused at start-up", async () => {
    const dir = join(outer, "sessions");
    await mkdir(dir);
    for (const mode of [0o755, 0o750, 0o701, 0o770, 0o707]) {
      await chmod(dir, mode);
      expect(() => fileStore({ dir }), mode.toString(8)).toThrow(SessionConfigError);
    }
    await chmod(dir, 0o700);
    expect(() => fileStore({ dir })).not.toThrow();
  });

  it("B5: a dir under a folder others can write without the sticky bit, or under another user's folder, is refused", async () => {
    const open = join(outer, "open");
    await mkdir(join(open, "sessions"), { recursive: true, mode: 0o700 });
    await chmod(open, 0o777); // anyone could rename `sessions` away and put their own in its place
    expect(() => fileStore({ dir: join(open, "sessions") })).toThrow(SessionConfigError);
    // Sticky and root-owned, like /tmp: others cannot rename what is ours in it.
    await mkdir(join(shared, "sessions"), { mode: 0o700 });
    expect(() => fileStore({ dir: join(shared, "sessions") })).not.toThrow();
    if (otherUser !== null) {
      const foreign = join(shared, "theirs");
      theirDir(foreign, "0o755");
      await mkdir(join(foreign, "sessions"), { mode: 0o700 }); // we are root: we can
      expect(() => fileStore({ dir: join(foreign, "sessions") })).toThrow(SessionConfigError);
    }
  });

  it("B5: without dir, sessions go to a per-user folder (tessera-<uid>/sessions in the temp dir), both 0700 and ours", async () => {
    const previous = process.env.TMPDIR;
    process.env.TMPDIR = shared;
    try {
      const store = fileStore();
      const r = storedRecord();
      await store.create(r);
      for (const path of [join(shared, `tessera-${uid}`), join(shared, `tessera-${uid}`, "sessions")]) {
        const info = await lstat(path);
        expect(info.isDirectory(), path).toBe(true);
        expect(info.mode & 0o777, path).toBe(0o700);
        expect(info.uid, path).toBe(uid);
      }
      expect(await readdir(join(shared, `tessera-${uid}`, "sessions"))).toEqual([`${r.id}.json`]);
      // A second store (another process of the same app) reuses the folder.
      expect(await fileStore().get(r.id, NOW)).toEqual(r);
    } finally {
      restoreTmpdir(previous);
    }
  });

  it.skipIf(needsOtherUser)(
    "B5: a tessera-<uid> folder planted in the temp dir by another user, or as a link, is refused at start-up",
    async () => {
      const previous = process.env.TMPDIR;
      process.env.TMPDIR = shared;
      const planted = join(shared, `tessera-${uid}`);
      try {
        theirDir(planted);
        expect(() => fileStore()).toThrow(SessionConfigError);
        await rm(planted, { recursive: true });
        const mine = join(outer, "mine");
        await mkdir(mine, { mode: 0o700 });
        otherUser?.run(`import { symlinkSync } from "node:fs"; symlinkSync(process.argv[1], process.argv[2]);`, mine, planted);
        expect(() => fileStore()).toThrow(SessionConfigError);
      } finally {
        restoreTmpdir(previous);
      }
    },
  );
});

describe("fileStore: what is found in the directory (B5)", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(outer, "sessions");
    await mkdir(dir, { mode: 0o700 });
  });
  const fileOf = (id: string) => join(dir, `${id}.json`);

  it("B5: a session file that is a symbolic link is not followed: get throws SessionCorruptError, writes go nowhere through it", async () => {
    const store = fileStore({ dir, onCorrupt: () => {} });
    const r = storedRecord({ data: { userId: { json: "admin" } } });
    const target = join(outer, "elsewhere.json");
    const text = encodeRecord(r);
    await writeFile(target, text, { mode: 0o600 });
    await symlink(target, fileOf(r.id));
    await expect(store.get(r.id, NOW)).rejects.toBeInstanceOf(SessionCorruptError);
    expect(await store.patch(r.id, patchOf({ x: { json: 1 } }), NOW)).toBeNull();
    expect(await store.touch(r.id, at(3 * HOUR), NOW)).toBe(false);
    expect(await readFile(target, "utf8")).toBe(text);
    await symlink(target, fileOf(r.id)).catch(() => {}); // the patch removed the link; plant it again
    await store.delete(r.id);
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(target, "utf8")).toBe(text); // the link went, never its target
  });

  it("B5/B12: through the core, a linked session file gives a fresh session and a corrupt event, and the link is removed", async () => {
    const store = fileStore({ dir });
    const events: string[] = [];
    const sessions = managerOn(store, events);
    const token = createToken();
    const target = join(outer, "elsewhere.json");
    await writeFile(target, encodeRecord(storedRecord({ id: hashToken(token), data: { userId: { json: "admin" } } })));
    await symlink(target, fileOf(hashToken(token)));
    const s = await sessions.load(`${sessions.cookieName}=${token}`);
    expect(s.isNew).toBe(true);
    expect(s.get("userId")).toBeUndefined();
    expect(events).toContain("corrupt");
    expect(events).not.toContain("unknown");
    expect(await readdir(dir)).toEqual([]);
    expect((await stat(target)).isFile()).toBe(true);
  });

  it("B5: a lock file that is a symbolic link is never written through or followed when broken", async () => {
    const store = fileStore({ dir, lockTimeout: 1000 });
    const r = storedRecord();
    await store.create(r);
    const victim = join(outer, "victim");
    await writeFile(victim, "precious");
    await symlink(victim, join(dir, `${r.id}.lock`));
    const old = new Date(Date.now() - 60_000);
    await lutimes(join(dir, `${r.id}.lock`), old, old); // stale by its own mtime, not its target's
    expect(await store.patch(r.id, patchOf({ a: { json: 1 } }), NOW)).toBe(2);
    expect(await readFile(victim, "utf8")).toBe("precious");
    expect(await readdir(dir)).toEqual([`${r.id}.json`]);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "B5: a session file owned by another user is not loaded (SessionCorruptError)",
    async () => {
      const store = fileStore({ dir, onCorrupt: () => {} });
      const r = storedRecord();
      await store.create(r);
      await chown(fileOf(r.id), 65534, 65534);
      await expect(store.get(r.id, NOW)).rejects.toBeInstanceOf(SessionCorruptError);
      expect(await store.patch(r.id, patchOf({ a: { json: 1 } }), NOW)).toBeNull();
      expect(await store.find({ userId: "u1" }, NOW)).toEqual([]);
    },
  );

  it("B5: a FIFO in place of a session file hangs nothing: get throws SessionCorruptError; patch, find, purgeExpired go on", async () => {
    const reports: string[] = [];
    const store = fileStore({ dir, onCorrupt: (id) => reports.push(id) });
    const id = newId();
    const live = storedRecord();
    await store.create(live);
    execFileSync("mkfifo", ["-m", "600", fileOf(id)]);
    await expect(store.get(id, NOW)).rejects.toBeInstanceOf(SessionCorruptError);
    expect(await store.find({ userId: "u1" }, NOW)).toEqual([live]);
    expect(await store.purgeExpired(at(2 * HOUR), 100)).toBe(1); // the live one, expired by then; the FIFO goes too
    expect(reports).toEqual([id]);
    expect(await readdir(dir)).toEqual([]);
    execFileSync("mkfifo", ["-m", "600", fileOf(id)]);
    expect(await store.patch(id, patchOf({ a: { json: 1 } }), NOW)).toBeNull();
    expect(await readdir(dir)).toEqual([]);
  });

  it("B5/B12: a directory in place of a session file is corrupt, not an outage; through the core a fresh session, and it is removed", async () => {
    const store = fileStore({ dir });
    const id = newId();
    await mkdir(fileOf(id));
    await expect(store.get(id, NOW)).rejects.toBeInstanceOf(SessionCorruptError);
    await store.delete(id);
    expect(await readdir(dir)).toEqual([]);
    const events: string[] = [];
    const sessions = managerOn(store, events);
    const token = createToken();
    await mkdir(fileOf(hashToken(token)));
    const s = await sessions.load(`${sessions.cookieName}=${token}`);
    expect(s.isNew).toBe(true);
    expect(events).toEqual(["corrupt"]);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("fileStore: hostile names and sizes", () => {
  let dir: string;
  beforeEach(async () => {
    dir = join(outer, "sessions");
    await mkdir(dir, { mode: 0o700 });
  });

  it("lone surrogates and NUL in ids read as absent; in keys and values (nested too) they round-trip exactly", async () => {
    const store = fileStore({ dir });
    const valid = newId();
    for (const id of [`${valid.slice(0, 63)}\ud800`, `\udc00${valid.slice(1)}`, `${valid.slice(0, 63)}\0`]) {
      expect(await store.get(id, NOW)).toBeNull();
      expect(await store.patch(id, patchOf({ a: { json: 1 } }), NOW)).toBeNull();
    }
    const odd = {
      "\ud800": { json: "\ud800" },
      "a\udc00b": { json: { "\udbff\0": ["x\ud800", "\0"] } },
      "k\0": { json: "v\0", meta: { values: ["\udfff"] } },
    };
    const r = storedRecord({ data: odd });
    await store.create(r);
    expect(await store.get(r.id, NOW)).toEqual(r);
    expect(await store.patch(r.id, patchOf({ "\udc00": { json: "a\ud800b" } }), NOW)).toBe(2);
    expect((await store.get(r.id, NOW))?.data).toEqual({ ...odd, "\udc00": { json: "a\ud800b" } });
    expect(await readdir(dir)).toEqual([`${r.id}.json`]);
  });

  it("a 10 MB session file loads; 10 MB of garbage is corrupt; a patch of a 10 MB record past maxBytes writes nothing", async () => {
    const store = fileStore({ dir, onCorrupt: () => {} });
    const big = "x".repeat(10 * 1024 * 1024);
    const r = storedRecord({ data: { big: { json: big } } });
    await store.create(r);
    expect((await store.get(r.id, NOW))?.data.big?.json).toBe(big);
    const before = await readFile(join(dir, `${r.id}.json`), "utf8");
    await expect(store.patch(r.id, patchOf({ a: { json: 1 } }, 65_536), NOW)).rejects.toBeInstanceOf(SessionTooLargeError);
    expect(await readFile(join(dir, `${r.id}.json`), "utf8")).toBe(before);
    const garbage = newId();
    await writeFile(join(dir, `${garbage}.json`), `{"v":1,"data":"${big}`, { mode: 0o600 });
    await expect(store.get(garbage, NOW)).rejects.toBeInstanceOf(SessionCorruptError);
  });

  it("a 600 MiB session file (sparse, past V8's string limit) is corrupt without being read, not a store outage", async () => {
    const store = fileStore({ dir, onCorrupt: () => {} });
    const r = storedRecord();
    await store.create(r);
    await truncate(join(dir, `${r.id}.json`), 600 * 1024 * 1024); // a hole: no disk used
    await expect(store.get(r.id, NOW)).rejects.toBeInstanceOf(SessionCorruptError);
    expect(await store.patch(r.id, patchOf({ a: { json: 1 } }), NOW)).toBeNull();
    expect(await readdir(dir)).toEqual([]);
  });
});
