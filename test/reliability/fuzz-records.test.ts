import fc from "fast-check";
import { it } from "vitest";
import { defineSession, isTesseraError, type SessionEvent } from "../../src/index.js";
import type { CookieSessionStore, StoredSession } from "../../src/store.js";
import { createToken, hashToken } from "../../src/token.js";
import { testClock } from "../helpers/clock.js";
import { modelSchema } from "./arbitraries.js";
import type { Backend, BackendName, RawRecord } from "./backends.js";
import { describeEachBackend } from "./each-backend.js";
import { type Expect, expectation, type Grade, graded, isPlainObject, recordData } from "./fuzz-arbitraries.js";
import { check, fuzzRuns, seed } from "./replay.js";

/**
 * Issue 11 C, fuzzing stored records: random records written straight into each backend in its
 * own form (Redis hash fields, a Postgres row with `data` of any JSON shape, file bytes, a memory
 * map value, a sealed cookie around any data), then loaded. A load never throws; a record with
 * garbage metadata, or data that is not an object, is a fresh session reported as `corrupt`
 * (B12, never `unknown`) and deleted; a readable one loads; a write to what loaded saves or
 * throws a typed error, never `SessionStoreError` (a data problem is not an outage).
 */

const NOW = Date.UTC(2026, 0, 1, 12);
const LIVE = NOW + 3_600_000;
const PAST = NOW - 3_600_000;
const FAR = NOW + 86_400_000 * 30;
const HEX = "f".repeat(64);

interface Planted {
  raw: RawRecord | { kind: "sealed"; record: StoredSession };
  expect: Expect;
}

const field = <T>(choices: Parameters<typeof graded<T>>[0]) => graded(choices);
const grades = (fields: { grade: Grade }[]) => fields.map((f) => f.grade);
/** A record's metadata in its stored field names, from the generated fields (`updatedAt` repeats `createdAt`). */
const metadata = <M extends Record<"exp" | "abs" | "created" | "ver" | "rev" | "succ", { value: unknown }>>(r: M) => ({
  expiresAt: r.exp.value as M["exp"]["value"],
  absoluteExpiresAt: r.abs.value as M["abs"]["value"],
  createdAt: r.created.value as M["created"]["value"],
  updatedAt: r.created.value as M["created"]["value"],
  schemaVersion: r.ver.value as M["ver"]["value"],
  rev: r.rev.value as M["rev"]["value"],
  successorId: r.succ.value as M["succ"]["value"],
});
/** Garbage beside an expired time: the store may notice either first; both give a fresh session. */
const settle = (expected: Expect, all: Grade[]): Expect =>
  expected === "corrupt" && all.includes("expired") ? "fresh" : expected;

function memoryRecords(): fc.Arbitrary<(id: string) => Planted> {
  const time = (ok: number) => field<unknown>({ ok: [ok], corrupt: ["x", Number.NaN, null, 5] });
  return fc
    .record({
      data: recordData,
      exp: field<unknown>({ ok: [LIVE], expired: [PAST], corrupt: ["x", Number.NaN, null, 8.64e15 + 1] }),
      abs: field<unknown>({ ok: [null, FAR], corrupt: ["x", Number.NaN] }),
      created: time(PAST),
      ver: field<unknown>({ ok: [1], corrupt: [1.5, "1", null] }),
      rev: field<unknown>({ ok: [1, 9], corrupt: [Number.NaN, "1"] }),
      succ: field<unknown>({ ok: [null], corrupt: [5, {}] }),
      whole: fc.constantFrom(null, "string", 5, [], undefined),
    })
    .map((r) =>
      described(r, (id: string) => {
        // Only a time the store could have written becomes a Date; garbage stays what it is.
        const asDate = (f: { value: unknown; grade: Grade }) =>
          typeof f.value === "number" && f.grade !== "corrupt" ? new Date(f.value) : f.value;
        const fields = [r.exp, r.abs, r.created, r.ver, r.rev, r.succ];
        // One case in six is not a record at all.
        if (r.whole !== undefined && r.ver.grade === "corrupt")
          return { raw: { kind: "object", value: r.whole }, expect: "corrupt" };
        const value = {
          id,
          data: r.data,
          expiresAt: asDate(r.exp),
          absoluteExpiresAt: asDate(r.abs),
          createdAt: asDate(r.created),
          updatedAt: asDate(r.created),
          schemaVersion: r.ver.value,
          rev: r.rev.value,
          successorId: r.succ.value,
        };
        const all = grades(fields);
        // The memory store holds any object as data (an array too); the core reports it corrupt.
        return { raw: { kind: "object", value }, expect: settle(expectation(all, r.data), all) };
      }),
    );
}

function rowRecords(): fc.Arbitrary<(id: string) => Planted> {
  const iso = (ms: number) => new Date(ms).toISOString();
  return fc
    .record({
      data: recordData,
      // Infinite times are no instant (B12: corrupt); 1 BC is one, odd but readable.
      exp: field({ ok: [iso(LIVE)], expired: [iso(PAST)], corrupt: ["infinity", "-infinity"] }),
      abs: field<string | null>({ ok: [null, iso(FAR)], corrupt: ["infinity", "-infinity"] }),
      created: field({ ok: [iso(PAST)], corrupt: ["-infinity", "infinity"], odd: ["0001-01-01 00:00:00 BC"] }),
      ver: field({ ok: [1], odd: [0, -1, 2, 2_147_483_647] }),
      rev: field({ ok: [1, 9], odd: [0, -1] }),
      succ: field<string | null>({ ok: [null], odd: ["garbage", HEX, ""] }),
    })
    .map((r) =>
      described(r, () => {
        const all = grades([r.exp, r.abs, r.created, r.ver, r.rev, r.succ]);
        return {
          raw: {
            kind: "row",
            row: { data: JSON.stringify(r.data), ...metadata(r) },
          },
          expect: settle(expectation(all, r.data), all),
        };
      }),
    );
}

function hashRecords(): fc.Arbitrary<(id: string) => Planted> {
  // Not integers as the scripts write them (B12): text, empty, fractions, exponents, 17 digits, padding.
  const garbage = ["not-a-time", "", "NaN", "1.5", "12abc", "Infinity", "1e400", "99999999999999999", " 1", null];
  const time = (ok: number, expired?: number) =>
    field<string | null>({
      ok: [String(ok)],
      ...(expired === undefined ? {} : { expired: [String(expired)] }),
      corrupt: garbage,
    });
  const entryText = fc.oneof(
    {
      weight: 4,
      arbitrary: recordData.map((value) => ({
        text: JSON.stringify(isPlainObject(value) ? value : { json: value }),
        json: true,
      })),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((text) => ({ text, json: isJson(text) })) },
  );
  return fc
    .record({
      entries: fc.dictionary(fc.constantFrom("userId", "notice", "cart", "$expiry", "__proto__", "x"), entryText, { maxKeys: 4 }),
      exp: time(LIVE, PAST),
      abs: field<string | null>({ ok: ["", String(FAR)], corrupt: ["x", "1.5", null] }),
      created: time(PAST),
      ver: field<string | null>({ ok: ["1"], corrupt: ["x", "1.5", "", null] }),
      rev: field<string | null>({ ok: ["1", "9"], corrupt: ["x", "", null] }),
      succ: field<string | null>({ ok: [""], odd: ["garbage", HEX] }),
    })
    .map((r) =>
      described(r, () => {
        const fields: Record<string, string> = {};
        const meta = { exp: r.exp, abs: r.abs, created: r.created, updated: r.created, ver: r.ver, rev: r.rev, succ: r.succ };
        for (const [name, value] of Object.entries(meta)) if (value.value !== null) fields[name] = value.value;
        for (const [key, entry] of Object.entries(r.entries)) fields[`d:${key}`] = entry.text;
        const all = grades(Object.values(meta));
        // An entry whose text is not JSON is corruption of the hash (B12); JSON of any shape is left to the core.
        if (Object.values(r.entries).some((entry) => !entry.json)) all.push("corrupt");
        return { raw: { kind: "hash", fields }, expect: settle(expectation(all, {}), all) };
      }),
    );
}

function fileRecords(): fc.Arbitrary<(id: string) => Planted> {
  const whole = fc
    .record({
      data: recordData,
      v: field<unknown>({ ok: [1], corrupt: [2, "1", null] }),
      id: field<string | null>({ ok: [null], corrupt: ["other", HEX] }),
      exp: field<unknown>({ ok: [LIVE], expired: [PAST], corrupt: ["x", null, 1e300, -1e300] }),
      abs: field<unknown>({ ok: [null, FAR], corrupt: ["x", 1e300] }),
      created: field<unknown>({ ok: [PAST], corrupt: ["x", 1e300] }),
      ver: field<unknown>({ ok: [1], corrupt: [1.5, "1"] }),
      rev: field<unknown>({ ok: [1], corrupt: [-0.5, null] }),
      succ: field<unknown>({ ok: [null], corrupt: [5, "not-hex"], odd: [HEX] }),
      cut: fc.option(fc.nat(), { freq: 5 }),
    })
    .map((r) =>
      described(r, (id: string) => {
        const text = JSON.stringify({
          v: r.v.value,
          id: r.id.value ?? id,
          data: r.data,
          ...metadata(r),
        });
        const all = grades([r.v, r.id, r.exp, r.abs, r.created, r.ver, r.rev, r.succ]);
        // A torn file: cut short, as a crash or a full disk leaves it.
        if (r.cut !== null) {
          const bytes = Buffer.from(text).subarray(0, r.cut % text.length);
          return { raw: { kind: "bytes", bytes }, expect: "corrupt" } satisfies Planted;
        }
        return {
          raw: { kind: "bytes", bytes: Buffer.from(text) },
          expect: settle(expectation(all, r.data), all),
        } satisfies Planted;
      }),
    );
  const noise = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 64 }),
    fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value))),
  );
  return fc.oneof(
    { weight: 4, arbitrary: whole },
    {
      weight: 1,
      arbitrary: noise.map((bytes) =>
        described(
          { bytes: Buffer.from(bytes).toString("hex") },
          () => ({ raw: { kind: "bytes", bytes }, expect: "corrupt" }) satisfies Planted,
        ),
      ),
    },
  );
}

function sealedRecords(): fc.Arbitrary<(id: string) => Planted> {
  return recordData.map((data) =>
    described(
      { data },
      (id: string): Planted => ({
        raw: {
          kind: "sealed",
          record: {
            id,
            data: data as StoredSession["data"],
            expiresAt: new Date(LIVE),
            absoluteExpiresAt: null,
            createdAt: new Date(PAST),
            updatedAt: new Date(PAST),
            schemaVersion: 1,
            rev: 1,
            successorId: null,
          },
        },
        // A cookie whose MAC verifies but whose data is not entries is refused whole by the store (a fresh
        // session, reported as tampered); data of plain entries must load.
        expect: isPlainObject(data) && Object.values(data).every(isPlainEntry) ? "session" : "any",
      }),
    ),
  );
}

/**
 * cached_db: a readable row behind a spoiled cached copy (garbage metadata, non-JSON entries):
 * the copy is dropped and the row loads, as the store is the source of truth.
 */
function cachedRecords(): fc.Arbitrary<(id: string) => Planted> {
  const spoiled = fc.dictionary(
    fc.constantFrom("exp", "abs", "created", "updated", "ver", "rev", "succ", "d:userId", "d:x"),
    fc.oneof(fc.constantFrom("not-a-time", "", "NaN", "1.5", "{not json", "1"), fc.string({ maxLength: 6 })),
    { minKeys: 1, maxKeys: 6 },
  );
  const overRow = spoiled.map((fields) =>
    described(
      { cached: fields },
      (): Planted => ({
        raw: {
          kind: "cached",
          row: {
            data: JSON.stringify({ userId: { json: "row" } }),
            expiresAt: new Date(LIVE).toISOString(),
            absoluteExpiresAt: null,
            createdAt: new Date(PAST).toISOString(),
            updatedAt: new Date(PAST).toISOString(),
            schemaVersion: 1,
            rev: 1,
            successorId: null,
          },
          fields,
        },
        expect: "row",
      }),
    ),
  );
  return fc.oneof(rowRecords(), overRow);
}

const generators: Record<BackendName, () => fc.Arbitrary<(id: string) => Planted>> = {
  memory: memoryRecords,
  pglite: rowRecords,
  postgres: rowRecords,
  redis: hashRecords,
  "redis-cluster": hashRecords,
  "cached-db": cachedRecords,
  file: fileRecords,
  cookie: sealedRecords,
};

/** An entry as the core writes one: `{ json }` and nothing else. */
const isPlainEntry = (entry: unknown) => isPlainObject(entry) && Object.keys(entry).length === 1 && "json" in entry;

/** `make`, printed by fast-check as the plain generated values it was built from (not as a function). */
function described<F extends (id: string) => Planted>(values: unknown, make: F): F {
  return Object.assign(make, { [fc.toStringMethod]: () => fc.stringify(values) });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const describeError = (error: unknown) =>
  isTesseraError(error)
    ? `${error.name} (${error.code}): ${error.message}`
    : `${(error as Error)?.name}: ${(error as Error)?.message}`;

async function loadPlanted(backend: Backend, make: (id: string) => Planted): Promise<void> {
  await backend.reset();
  const events: SessionEvent[] = [];
  const sessions = defineSession({
    schema: modelSchema,
    store: backend.store,
    ...(backend.cache === undefined ? {} : { cache: backend.cache }),
    now: testClock(NOW).now,
    onEvent: (event) => events.push(event),
  });
  const token = createToken();
  const id = hashToken(token);
  const planted = make(id);
  let cookie: string;
  if (planted.raw.kind === "sealed") {
    cookie = await (backend.store as CookieSessionStore).seal(planted.raw.record, sessions.cookieName);
  } else {
    await backend.plant(id, planted.raw);
    cookie = token;
  }
  const header = `${sessions.cookieName}=${cookie}`;
  const types = () => events.map((event) => event.type).join(", ") || "none";
  const fail = (message: string): never => {
    throw new Error(`${message} (expected: ${planted.expect}; events: ${types()})`);
  };
  let session: Awaited<ReturnType<typeof sessions.load>>;
  try {
    session = await sessions.load(header);
  } catch (error) {
    return fail(`load threw ${describeError(error)}: a stored record must load, or give a fresh session`);
  }
  const corrupt = events.some((event) => event.type === "corrupt");
  const unknown = events.some((event) => event.type === "unknown");
  if (planted.expect === "session" && session.isNew) fail("a readable record gave a fresh session");
  if (planted.expect === "row" && session.get("userId") !== "row") fail("a spoiled cached copy hid the row behind it");
  if (planted.expect === "corrupt") {
    if (!session.isNew) fail("a corrupt record loaded as a session");
    if (!corrupt) fail(`B12: a corrupt record must be reported as corrupt${unknown ? ", not unknown" : ""}`);
    if (!backend.clientSide && (await backend.count()) !== 0) fail("a corrupt record was reported but not deleted");
  }
  // An expired record with garbage in it may be noticed as either: both are a fresh session.
  if (planted.expect === "fresh" && !session.isNew) fail("an expired record loaded as a session");
  if (planted.expect === "session" && corrupt) fail("a readable record was reported corrupt");
  // What loaded must take a write: saved, or a typed refusal; never an outage for a data problem.
  try {
    session.all();
    session.set("notice", "written after a fuzzed load");
    await session.commit();
  } catch (error) {
    if (isTesseraError(error) && error.code !== "STORE_UNAVAILABLE") return;
    fail(`a write after loading the record threw ${describeError(error)}`);
  }
}

describeEachBackend("fuzzed stored records", (backendName, backend) => {
  it(`B12: a hostile record loads, or is a fresh session reported corrupt; never another exception (seed ${seed})`, async () => {
    const opened = backend();
    await check(
      `stored-record fuzz on ${backendName}`,
      fc.asyncProperty(generators[backendName](), (make) => loadPlanted(opened, make)),
      fuzzRuns,
    );
  }, 170_000);
});
