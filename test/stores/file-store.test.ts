import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession } from "../../src/define.js";
import {
  SessionConfigError,
  SessionCorruptError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
} from "../../src/errors.js";
import type { SessionPatch, StoredSession } from "../../src/store.js";
import { encodeRecord } from "../../src/stores/file/file-record.js";
import { type FileStoreOptions, fileStore } from "../../src/stores/file/file-store.js";
import { createToken, hashToken } from "../../src/token.js";
import { cookieHeader } from "../helpers/cookies.js";
import { RECORD_NOW, storedRecord } from "../helpers/records.js";

const NOW = RECORD_NOW;
const HOUR = 3_600_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);
const newId = () => randomBytes(32).toString("hex");

const patchOf = (set: SessionPatch["set"], deleted: string[] = [], maxBytes = 65_536): SessionPatch => ({
  set,
  deleted,
  expiresAt: at(2 * HOUR),
  updatedAt: at(1000),
  schemaVersion: 1,
  maxBytes,
});

let outer: string;
let dir: string;
const open = (options: Omit<FileStoreOptions, "dir"> = {}) => fileStore({ dir, ...options });
const fileOf = (id: string) => join(dir, `${id}.json`);
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

beforeEach(async () => {
  outer = await mkdtemp(join(tmpdir(), "tessera-file-"));
  dir = join(outer, "sessions");
});
afterEach(async () => {
  await rm(outer, { recursive: true, force: true });
});

describe("fileStore: ids and paths (R54)", () => {
  const hostile = (valid: string) => ({
    "../passwd": "../passwd",
    "../../etc/passwd": "../../etc/passwd",
    "..%2F..%2Fpasswd": "..%2F..%2Fpasswd",
    "NUL byte": `${valid.slice(0, 32)}\0${valid.slice(33)}`,
    "uppercase hex": valid.toUpperCase(),
    "63 chars": valid.slice(1),
    "65 chars": `${valid}0`,
    "valid id plus path": `${valid}/../${valid}`,
    "lone surrogate": `${valid.slice(0, 63)}\ud800`,
    empty: "",
  });

  it("R54: hostile ids read as absent, write nothing, and touch no file inside or outside dir", async () => {
    const store = open();
    const kept = storedRecord();
    await store.create(kept);
    // Bait outside dir: a readable record where `../passwd` would lead, and a sentinel file.
    await writeFile(join(outer, "passwd.json"), encodeRecord({ ...storedRecord(), id: "../passwd" }));
    await writeFile(join(outer, "sentinel"), "untouched");
    const before = { outer: await readdir(outer), dir: await readdir(dir), sentinel: await stat(join(outer, "sentinel")) };
    for (const [name, id] of Object.entries(hostile(kept.id))) {
      expect(await store.get(id, NOW), name).toBeNull();
      expect(await store.patch(id, patchOf({ x: { json: 1 } }), NOW), name).toBeNull();
      expect(await store.replace({ ...storedRecord(), id }, NOW), name).toBeNull();
      expect(await store.touch(id, at(HOUR), NOW), name).toBe(false);
      expect(await store.rotate(id, storedRecord(), null, NOW), name).toBe(false);
      await store.delete(id);
      await expect(store.create({ ...storedRecord(), id }), name).rejects.toBeInstanceOf(SessionStoreError);
    }
    expect(await readdir(outer)).toEqual(before.outer);
    expect(await readdir(dir)).toEqual(before.dir);
    expect(await readFile(join(outer, "sentinel"), "utf8")).toBe("untouched");
    expect((await stat(join(outer, "sentinel"))).mtimeMs).toBe(before.sentinel.mtimeMs);
    expect(await store.get(kept.id, NOW)).toEqual(kept);
  });
});

describe("fileStore: files and directory (R55)", () => {
  it("R55: the directory is created with mode 0700 and session files are written with mode 0600", async () => {
    const store = open();
    expect(await modeOf(dir)).toBe(0o700);
    const r = storedRecord();
    await store.create(r);
    expect(await modeOf(fileOf(r.id))).toBe(0o600);
    await store.patch(r.id, patchOf({ theme: { json: "dark" } }), NOW);
    expect(await modeOf(fileOf(r.id))).toBe(0o600);
    // Dates are epoch ms in the JSON.
    expect(JSON.parse(await readFile(fileOf(r.id), "utf8"))).toMatchObject({ expiresAt: at(2 * HOUR).getTime(), rev: 2 });
  });

  it("R55/B5: without `dir` the store uses tessera-<uid>/sessions under the OS temp dir", async () => {
    fileStore();
    const info = await stat(join(tmpdir(), `tessera-${process.geteuid?.()}`, "sessions"));
    expect(info.isDirectory()).toBe(true);
    expect(info.mode & 0o777).toBe(0o700);
  });

  it("R55: a dir that cannot be created or used is a SessionConfigError at factory time", async () => {
    await writeFile(join(outer, "file"), "");
    await mkdir(join(outer, "open"), { mode: 0o700 });
    await chmod(join(outer, "open"), 0o777);
    // Root ignores chmod, so "not writable" is a path under a regular file.
    for (const bad of [join(outer, "file", "sessions"), join(outer, "file"), join(outer, "open")]) {
      expect(() => fileStore({ dir: bad })).toThrow(SessionConfigError);
    }
    try {
      fileStore({ dir: join(outer, "file", "sessions") });
    } catch (error) {
      expect((error as SessionConfigError).code).toBe("CONFIG");
    }
  });

  it("bad options are a SessionConfigError at factory time", () => {
    for (const options of [
      { dir: "" },
      { dir: "a\0b" },
      { lockTimeout: 0 },
      { lockTimeout: -1 },
      { lockTimeout: Number.NaN },
      { lockTimeout: "10s" },
      { lockStaleAfter: -1 },
      { lockStaleAfter: 0 },
      { lockStaleAfter: "10 seconds" },
      { lockStaleAfter: "10s", lockTimeout: 10_000 },
    ]) {
      expect(() => fileStore({ dir, ...options } as FileStoreOptions)).toThrow(SessionConfigError);
    }
    expect(() => fileStore({ dir, onCorrupt: "log" as never })).toThrow(SessionConfigError);
  });

  it("R55: writes are temp + rename: a reader during 200 writes never sees a partial file", async () => {
    const store = open();
    const r = storedRecord();
    await store.create(r);
    const big = "x".repeat(64 * 1024); // large enough that a non-atomic write would be seen half done
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(fileOf(r.id), "utf8");
        expect(() => JSON.parse(text)).not.toThrow();
        expect(await store.get(r.id, NOW)).not.toBeNull();
        reads++;
      }
    })();
    for (let i = 0; i < 200; i++) await store.patch(r.id, patchOf({ big: { json: `${i}${big}` } }, [], 1 << 20), NOW);
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    expect(await readdir(dir)).toEqual([`${r.id}.json`]); // no temp or lock file left
  });
});

describe("fileStore: locking (R53)", () => {
  function hammer(id: string, prefix: string): ChildProcessWithoutNullStreams {
    const child = spawn(process.execPath, ["--import", "tsx", "test/helpers/file-hammer.ts", dir, id, prefix, "200"], {
      cwd: join(import.meta.dirname, "../.."),
    });
    child.stderr.setEncoding("utf8");
    return child;
  }
  // A listener, not `for await`: leaving that loop would destroy the child's stdout (EPIPE there).
  const lineFrom = (child: ChildProcessWithoutNullStreams, line: string) =>
    new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes(line)) resolve();
      });
      child.once("exit", () => reject(new Error(`child exited without "${line}"`)));
    });

  it("R53: two processes patching one session 200 times each with their own keys lose none", async () => {
    const store = open();
    // The children patch with the real clock.
    const r = storedRecord({ data: {}, expiresAt: new Date(Date.now() + HOUR) });
    await store.create(r);
    const children = [hammer(r.id, "a"), hammer(r.id, "b")];
    const errors: string[] = [];
    for (const child of children) child.stderr.on("data", (text: string) => errors.push(text));
    const exits = children.map((child) => once(child, "exit"));
    await Promise.all(children.map((child) => lineFrom(child, "ready")));
    for (const child of children) child.stdin.end("go\n");
    for (const [code] of await Promise.all(exits)) expect(code, errors.join("")).toBe(0);
    const after = await store.get(r.id, new Date());
    for (const prefix of ["a", "b"]) {
      for (let i = 0; i < 200; i++) expect(after?.data[`${prefix}${i}`]).toEqual({ json: i });
    }
    expect(after?.rev).toBe(401);
  }, 20_000);

  it("R53: 100 concurrent patches in one process keep every key", async () => {
    const store = open();
    const r = storedRecord({ data: {} });
    await store.create(r);
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.patch(r.id, patchOf({ [`k${i}`]: { json: i } }), NOW)));
    const after = await store.get(r.id, NOW);
    expect(Object.keys(after?.data ?? {})).toHaveLength(100);
    expect(after?.rev).toBe(101);
  });

  it("issue 13.6: lockStaleAfter is a Duration (a number is seconds); the deprecated lockTimeout keeps its milliseconds", () => {
    for (const options of [
      { lockStaleAfter: 0.4 },
      { lockStaleAfter: "10s" },
      { lockStaleAfter: { minutes: 1 } },
      { lockTimeout: 400 },
    ]) {
      expect(() => fileStore({ dir, ...options } as FileStoreOptions)).not.toThrow();
    }
  });

  it("a stale lock (old mtime, dead pid) is broken; a fresh one is waited for until lockStaleAfter (0.4: seconds)", async () => {
    const store = open({ lockStaleAfter: 0.4 });
    const r = storedRecord();
    await store.create(r);
    const lock = join(dir, `${r.id}.lock`);
    await writeFile(lock, "999999\n2020-01-01T00:00:00.000Z\ncrashed\n");
    await utimes(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(await store.patch(r.id, patchOf({ a: { json: 1 } }), NOW)).toBe(2);

    await writeFile(lock, `${process.pid}\n${new Date().toISOString()}\nheld\n`);
    const started = Date.now();
    let settled = false;
    const waiting = store.patch(r.id, patchOf({ b: { json: 2 } }), NOW).finally(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(settled).toBe(false);
    expect(await readFile(lock, "utf8")).toContain("held"); // never broken while fresh
    expect((await store.get(r.id, NOW))?.rev).toBe(2); // reads take no lock
    expect(await waiting).toBe(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(await readdir(dir)).toEqual([`${r.id}.json`]);
  });
});

describe("fileStore: corrupt files (R43, B12)", () => {
  /** A manager on a file store in `dir` whose events' types go into `events`. */
  const sessionsReporting = (events: string[]) =>
    defineSession({
      schema: z.object({ userId: z.string().optional() }),
      store: open(),
      now: () => NOW.getTime(),
      onEvent: (event) => events.push(event.type),
    });

  /** Files that exist but hold no record: each makes `get` throw SessionCorruptError. */
  const corruptTexts = (id: string): Record<string, string> => {
    const good = JSON.parse(encodeRecord(storedRecord({ id }))) as Record<string, unknown>;
    const bad = (change: Record<string, unknown>) => JSON.stringify({ ...good, ...change });
    return {
      "truncated JSON": encodeRecord(storedRecord({ id })).slice(0, 60),
      "empty file": "",
      "JSON null": "null",
      "a JSON array": "[]",
      "a JSON number": "42",
      "expiresAt as text": bad({ expiresAt: "tomorrow" }),
      "expiresAt missing": bad({ expiresAt: undefined }),
      "expiresAt null": bad({ expiresAt: null }),
      "rev as text": bad({ rev: "1" }),
      "rev fractional": bad({ rev: 1.5 }),
      "rev past 2^53": bad({ rev: 2 ** 60 }),
      "absoluteExpiresAt as an object": bad({ absoluteExpiresAt: {} }),
      "createdAt past Date's range": bad({ createdAt: 1e300 }),
      "updatedAt past Date's range": bad({ updatedAt: -8.64e15 - 1 }),
      "absoluteExpiresAt past Date's range": bad({ absoluteExpiresAt: 8.64e15 + 1 }),
      "successorId not a hash": bad({ successorId: "../x" }),
      "data an array": bad({ data: [] }),
      "data a string": bad({ data: "x" }),
      "data null": bad({ data: null }),
      "another id": bad({ id: newId() }),
      "another version": bad({ v: 2 }),
    };
  };

  it("B12: a torn file or wrong shapes (expiresAt, rev, data…) make get throw SessionCorruptError; an absent file is null", async () => {
    const reports: string[] = [];
    const store = open({ onCorrupt: (id) => reports.push(id) });
    expect(await store.get(newId(), NOW)).toBeNull();
    const names = Object.keys(corruptTexts(newId()));
    for (const name of names) {
      const id = newId();
      await writeFile(fileOf(id), corruptTexts(id)[name] as string, { mode: 0o600 });
      const error = await store.get(id, NOW).then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error, name).toBeInstanceOf(SessionCorruptError);
      expect((error as SessionCorruptError).code, name).toBe("SESSION_CORRUPT");
      expect(String(error), name).not.toContain(id.slice(0, 16)); // no id in the message
    }
    // get leaves the file to the core (which reports and deletes it) and reports nothing itself.
    expect((await readdir(dir)).length).toBe(names.length);
    expect(reports).toEqual([]);
  });

  it("B12: through defineSession, a torn session file is reported to onEvent as corrupt (not unknown), removed, and the request starts afresh", async () => {
    const events: string[] = [];
    const sessions = sessionsReporting(events);
    const token = createToken();
    const id = hashToken(token);
    await writeFile(fileOf(id), encodeRecord(storedRecord({ id })).slice(0, 40), { mode: 0o600 });
    const s = await sessions.load(`${sessions.cookieName}=${token}`);
    expect(s.isNew).toBe(true);
    expect(s.get("userId")).toBeUndefined();
    expect(events).toEqual(["corrupt"]);
    expect(await readdir(dir)).toEqual([]);
    // A made-up token is still "unknown".
    await sessions.load(`${sessions.cookieName}=${createToken()}`);
    expect(events).toEqual(["corrupt", "unknown"]);
  });

  it("B12: 20 concurrent requests with the cookie of a torn file all get a fresh session, none an error; the file goes", async () => {
    const events: string[] = [];
    const sessions = sessionsReporting(events);
    const token = createToken();
    const id = hashToken(token);
    await writeFile(fileOf(id), `{"v":1,"id":"${id}","data":{"userId":{"json":"u`, { mode: 0o600 });
    const loads = await Promise.all(Array.from({ length: 20 }, () => sessions.load(`${sessions.cookieName}=${token}`)));
    expect(loads.every((s) => s.isNew && s.get("userId") === undefined)).toBe(true);
    expect(events.length).toBeGreaterThan(0);
    expect(events.every((type) => type === "corrupt" || type === "unknown")).toBe(true); // later ones find it gone
    expect(events[0]).toBe("corrupt");
    expect(await readdir(dir)).toEqual([]);
  });

  it("R43: a corrupt file met by a write under the lock is removed and reported once; the write writes nothing", async () => {
    const reports: string[] = [];
    const store = open({ onCorrupt: (id) => reports.push(id) });
    const [a, b, c] = [newId(), newId(), newId()];
    await writeFile(fileOf(a), JSON.stringify({ v: 1, id: a, data: [] }));
    await writeFile(fileOf(b), encodeRecord(storedRecord({ id: c })));
    expect(await store.patch(a, patchOf({ x: { json: 1 } }), NOW)).toBeNull();
    expect(await store.touch(b, at(HOUR), NOW)).toBe(false);
    expect(reports).toEqual([a, b]);
    expect(await readdir(dir)).toEqual([]);
    expect(await store.patch(a, patchOf({ x: { json: 1 } }), NOW)).toBeNull();
    expect(reports).toEqual([a, b]);
  });

  it("R43: the default report is a warning that names no id or file, and a throwing onCorrupt is ignored", async () => {
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      const store = open();
      const id = newId();
      await writeFile(fileOf(id), "{");
      expect(await store.patch(id, patchOf({ a: { json: 1 } }), NOW)).toBeNull();
      expect(warnings).toHaveLength(1);
      expect(JSON.stringify(warnings)).not.toContain(id.slice(0, 8));
    } finally {
      console.warn = warn;
    }
    const id = newId();
    await writeFile(fileOf(id), "{");
    const throwing = open({
      onCorrupt: () => {
        throw new Error("logger down");
      },
    });
    expect(await throwing.purgeExpired(NOW, 10)).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("fileStore: maxBytes under the lock (B9)", () => {
  const bytesOf = (data: StoredSession["data"]) =>
    Object.values(data).reduce((sum, entry) => sum + Buffer.byteLength(JSON.stringify(entry)), 0);

  it("B9: a patch that would take the record past maxBytes writes nothing and throws SessionTooLargeError(bytes, maxBytes)", async () => {
    const store = open();
    const r = storedRecord({ data: { a: { json: "é".repeat(40) } } }); // {"json":"é…"}: 11 + 80 bytes
    await store.create(r);
    const before = await readFile(fileOf(r.id), "utf8");
    const error = await store.patch(r.id, patchOf({ b: { json: "x" } }, [], 91 + 11), NOW).then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(SessionTooLargeError);
    expect(error).toMatchObject({ code: "SESSION_TOO_LARGE", bytes: 91 + 12, maxBytes: 102 });
    expect(await readFile(fileOf(r.id), "utf8")).toBe(before);
    expect(await readdir(dir)).toEqual([`${r.id}.json`]); // no temp or lock file left
    // Exactly at the limit is allowed; a patch that deletes what it adds is measured on the result.
    expect(await store.patch(r.id, patchOf({ b: { json: "x" } }, [], 103), NOW)).toBe(2);
    expect(await store.patch(r.id, patchOf({ c: { json: "é".repeat(40) } }, ["a"], 103), NOW)).toBe(3);
    expect(Object.keys((await store.get(r.id, NOW))?.data ?? {}).sort()).toEqual(["b", "c"]);
  });

  it("B9: a record already past maxBytes (the limit was lowered) can still shrink; only growth is refused", async () => {
    const store = open();
    const r = storedRecord({ data: { a: { json: "é".repeat(40) }, b: { json: "x" }, c: { json: "y".repeat(30) } } });
    await store.create(r);
    const grow = await store.patch(r.id, patchOf({ d: { json: "z" } }, [], 50), NOW).catch((e: unknown) => e);
    expect(grow).toBeInstanceOf(SessionTooLargeError);
    expect(await store.patch(r.id, patchOf({ a: { json: "é".repeat(20) } }, [], 50), NOW)).toBe(2); // smaller, still over
    expect(await store.patch(r.id, patchOf({}, ["c"], 50), NOW)).toBe(3);
    expect(Object.keys((await store.get(r.id, NOW))?.data ?? {}).sort()).toEqual(["a", "b"]);
  });

  it("B9: 50 concurrent writers of different keys never grow the stored record past maxBytes; each succeeds or gets SessionTooLargeError", async () => {
    const store = open();
    const r = storedRecord({ data: {} });
    await store.create(r);
    const maxBytes = 10_000;
    const value = "v".repeat(500);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => store.patch(r.id, patchOf({ [`k${i}`]: { json: value } }, [], maxBytes), NOW)),
    );
    const ok = results.filter((result) => result.status === "fulfilled");
    const refused = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    expect(ok.length + refused.length).toBe(50);
    for (const reason of refused) {
      expect(reason).toBeInstanceOf(SessionTooLargeError);
      expect((reason as SessionTooLargeError).maxBytes).toBe(maxBytes);
      expect((reason as SessionTooLargeError).bytes).toBeGreaterThan(maxBytes);
    }
    const after = await store.get(r.id, NOW);
    expect(bytesOf(after?.data ?? {})).toBeLessThanOrEqual(maxBytes);
    expect(Object.keys(after?.data ?? {})).toHaveLength(ok.length); // every success is there, no refusal is
    expect(after?.rev).toBe(1 + ok.length);
    expect(ok.length).toBe(Math.floor(maxBytes / bytesOf({ k: { json: value } }))); // filled to the limit
    expect(refused.length).toBeGreaterThan(0);
  });

  it("B9 through sessions: 50 concurrent requests setting different keys under maxBytes 10000 never store more", async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const schema = z.object(Object.fromEntries(keys.map((key) => [key, z.string().optional()])));
    const store = open();
    const sessions = defineSession({ schema, store, maxBytes: 10_000, now: () => NOW.getTime() });
    const first = await sessions.load(null);
    first.set("k0", "start");
    const cookie = cookieHeader(await first.commit());
    const value = "v".repeat(500);
    const results = await Promise.allSettled(
      keys.slice(1).map(async (key) => {
        const s = await sessions.load(cookie);
        s.set(key as never, value as never);
        await s.commit();
      }),
    );
    const refused = results.flatMap((result) => (result.status === "rejected" ? [result.reason as unknown] : []));
    for (const reason of refused) expect(reason).toBeInstanceOf(SessionTooLargeError);
    const id = hashToken(cookie.split("=")[1] as string);
    const stored = await store.get(id, NOW);
    expect(bytesOf(stored?.data ?? {})).toBeLessThanOrEqual(10_000);
    expect(Object.keys(stored?.data ?? {})).toHaveLength(1 + results.length - refused.length);
    expect(refused.length).toBeGreaterThan(0);
  });
});

describe("fileStore: update-only writes and rotation (R51)", () => {
  it("R51: patch, replace and touch of an absent, expired or shadow record write nothing", async () => {
    const store = open();
    const absent = storedRecord();
    const expired = storedRecord({ expiresAt: at(-1) });
    const shadow = storedRecord({ data: {}, successorId: newId() });
    await store.create(expired);
    await store.create(shadow);
    for (const r of [absent, expired, shadow]) {
      expect(await store.patch(r.id, patchOf({ x: { json: 1 } }), NOW)).toBeNull();
      expect(await store.replace({ ...r, data: { x: { json: 1 } } }, NOW)).toBeNull();
      expect(await store.touch(r.id, at(HOUR), NOW)).toBe(false);
      expect(await store.rotate(r.id, storedRecord(), null, NOW)).toBe(false);
    }
    expect(await readdir(dir)).toEqual([`${shadow.id}.json`]); // the expired one was removed on the way
    expect(await store.get(shadow.id, NOW)).toEqual(shadow);
  });

  it("create never overwrites a live record; patch merges and deletes keys, touch keeps the rev", async () => {
    const store = open();
    const r = storedRecord({ data: { a: { json: 1 }, b: { json: 2 } } });
    await store.create(r);
    await expect(store.create({ ...r, data: {} })).rejects.toBeInstanceOf(SessionStoreError);
    expect(await store.patch(r.id, patchOf({ c: { json: 3 }, ["__proto__"]: { json: 4 } }, ["a"]), NOW)).toBe(2);
    expect(await store.touch(r.id, at(3 * HOUR), NOW)).toBe(true);
    const after = await store.get(r.id, NOW);
    expect(after?.rev).toBe(2);
    expect(after?.expiresAt).toEqual(at(3 * HOUR));
    expect(Object.keys(after?.data ?? {}).sort()).toEqual(["__proto__", "b", "c"]);
    expect(Object.getPrototypeOf(after?.data)).toBe(Object.prototype);
  });

  it("rotate deletes the old record, or with a grace period leaves an empty shadow until it ends", async () => {
    const store = open();
    const old = storedRecord();
    await store.create(old);
    const next = storedRecord();
    expect(await store.rotate(old.id, next, null, NOW)).toBe(true);
    expect(await readdir(dir)).toEqual([`${next.id}.json`]);
    const third = storedRecord();
    expect(await store.rotate(next.id, third, at(10_000), NOW)).toBe(true);
    expect(await store.get(next.id, NOW)).toMatchObject({ data: {}, successorId: third.id, expiresAt: at(10_000), rev: 2 });
    expect(await store.get(third.id, NOW)).toEqual(third);
    expect(await store.get(next.id, at(10_000))).toBeNull();
  });
});

describe("fileStore: scans", () => {
  it("find lists live, non-shadow matches newest first; deleteWhere removes matches but exceptId", async () => {
    const store = open();
    const older = storedRecord();
    const newer = storedRecord({ updatedAt: at(5000) });
    const other = storedRecord({ data: { userId: { json: "u2" } } });
    const expired = storedRecord({ expiresAt: at(-1) });
    const shadow = storedRecord({ successorId: newer.id });
    for (const r of [older, newer, other, expired, shadow]) await store.create(r);
    expect((await store.find({ userId: "u1" }, NOW)).map((r) => r.id)).toEqual([newer.id, older.id]);
    expect(await store.find({ userId: "u1" }, NOW, { limit: 1 })).toEqual([newer]);
    await expect(store.find({}, NOW)).rejects.toBeInstanceOf(SessionUsageError);
    await expect(store.deleteWhere({})).rejects.toBeInstanceOf(SessionUsageError);
    const deleted = await store.deleteWhere({ userId: "u1" }, { exceptId: older.id });
    expect(deleted.sort()).toEqual([newer.id, expired.id, shadow.id].sort());
    expect((await readdir(dir)).sort()).toEqual([`${older.id}.json`, `${other.id}.json`].sort());
  });

  it("R30: purgeExpired deletes only expired files, in batches, skipping locked ones, and clears stale temp files", async () => {
    const store = open({ onCorrupt: () => {}, lockTimeout: 1000 });
    const expired = Array.from({ length: 7 }, () => storedRecord({ expiresAt: at(-1) }));
    const live = [storedRecord(), storedRecord()];
    for (const r of [...expired, ...live]) await store.create(r);
    const busy = expired[0] as StoredSession;
    await writeFile(join(dir, `${busy.id}.lock`), `${process.pid}\nnow\nheld\n`);
    const corrupt = newId();
    await writeFile(fileOf(corrupt), "{");
    const oldTemp = join(dir, `${newId()}.json.00ff.tmp`);
    const newTemp = join(dir, `${newId()}.json.11ee.tmp`);
    await writeFile(oldTemp, "{");
    await writeFile(newTemp, "{");
    await utimes(oldTemp, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

    expect(await store.purgeExpired(NOW, 3)).toBe(3);
    expect(await store.purgeExpired(NOW, 3)).toBe(3);
    expect(await store.purgeExpired(NOW, 3)).toBe(0); // the last one is locked by someone else
    const left = await readdir(dir);
    expect(left.sort()).toEqual(
      [...live.map((r) => `${r.id}.json`), `${busy.id}.json`, `${busy.id}.lock`, newTemp.slice(dir.length + 1)].sort(),
    );
    await utimes(join(dir, `${busy.id}.lock`), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(await store.purgeExpired(NOW, 3)).toBe(1);
    for (const r of live) expect(await store.get(r.id, NOW)).toEqual(r);
  });
});
