/**
 * drizzleStore's hot statements (get, patch, touch) are fixed SQL answered as arrays, with times
 * read as epoch milliseconds. What that must keep working whatever the connection's settings
 * and the driver's parsers: the exact times written, the data as an object, on PGlite and on
 * the real server through postgres.js clients configured as apps configure them.
 */
import { drizzle } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredSession } from "../../src/store.js";
import { drizzleStore } from "../../src/stores/drizzle/index.js";
import { databaseUrl, openPglite, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { jsonbSized } from "../helpers/records.js";

const record = (id: string): StoredSession => ({
  id,
  // JSON.parse: in an object literal, `__proto__:` would set the prototype instead of adding a key.
  data: JSON.parse('{"cart":{"json":[{"sku":"A","qty":2}]},"__proto__":{"json":"own key"}}'),
  // Milliseconds that a text round trip through another DateStyle or time zone would lose or shift.
  expiresAt: new Date("2031-07-04T23:59:58.987Z"),
  absoluteExpiresAt: new Date("2032-02-29T00:00:00.001Z"),
  createdAt: new Date("2026-12-04T10:11:12.345Z"),
  updatedAt: new Date("2026-12-04T10:11:13.999Z"),
  schemaVersion: 3,
  rev: 7,
  successorId: null,
});
const now = new Date("2026-12-04T12:00:00Z");

async function roundTrip(store: ReturnType<typeof drizzleStore>, id: string): Promise<void> {
  const written = record(id);
  await store.create(written);
  const read = await store.get(id, now);
  expect(read).toEqual(jsonbSized(written));
  expect(Object.keys(read?.data ?? {})).toContain("__proto__");
  // The patch and the touch go through the same fixed statements.
  const rev = await store.patch(
    id,
    {
      set: { theme: { json: "dark" } },
      deleted: ["cart"],
      expiresAt: new Date("2031-08-01T01:02:03.004Z"),
      updatedAt: new Date("2026-12-04T12:00:00.005Z"),
      schemaVersion: 3,
      maxBytes: 65536,
    },
    now,
  );
  expect(rev).toBe(8);
  expect(await store.touch(id, new Date("2031-09-01T00:00:00.006Z"), now)).toBe(true);
  const after = await store.get(id, now);
  expect(after?.data).toEqual(JSON.parse('{"__proto__":{"json":"own key"},"theme":{"json":"dark"}}'));
  expect(after?.expiresAt).toEqual(new Date("2031-09-01T00:00:00.006Z"));
  expect(after?.updatedAt).toEqual(new Date("2026-12-04T12:00:00.005Z"));
  expect(after?.rev).toBe(8);
}

// Keys an array literal must quote: its delimiters, quotes, backslashes, NULL, blanks.
const awkwardKeys = ['a"b', "back\\slash", "comma,brace{}", "NULL", " ", "", "é\u2028"];

async function deletesAwkwardKeys(store: ReturnType<typeof drizzleStore>, id: string): Promise<void> {
  const written = record(id);
  written.data = Object.fromEntries([...awkwardKeys, "kept"].map((key) => [key, { json: key }]));
  await store.create(written);
  const patch = { set: {}, expiresAt: written.expiresAt, updatedAt: written.updatedAt, schemaVersion: 3, maxBytes: 65536 };
  expect(await store.patch(id, { ...patch, deleted: awkwardKeys }, now)).toBe(8);
  expect((await store.get(id, now))?.data).toEqual({ kept: { json: "kept" } });
}

describe("drizzleStore hot statements on PGlite", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openPglite();
  });
  afterAll(() => database.close());

  it("reads the exact times under a non-ISO DateStyle and a non-UTC time zone", async () => {
    await database.query("set datestyle = 'SQL, DMY'");
    await database.query("set timezone = 'Asia/Kolkata'");
    await roundTrip(database.store, "a".repeat(64));
  });

  it("B12: a time Postgres holds but toISOString() cannot write back (1 BC, year 10000) is corrupt, not loaded", async () => {
    for (const [at, column] of [
      ["0001-01-01 00:00:00 BC", "created_at"],
      ["10000-01-01 00:00:00+00", "updated_at"],
      ["10000-01-01 00:00:00+00", "expires_at"],
    ] as const) {
      const id = `${column.slice(0, 1)}${at.slice(0, 2)}`.padEnd(64, "b");
      await database.store.create(record(id));
      await database.query(`update sessions set ${column} = $1::timestamptz where id = $2`, [at, id]);
      await expect(database.store.get(id, now)).rejects.toMatchObject({ code: "SESSION_CORRUPT" });
    }
    // The first and the last instants that do round-trip still load.
    const edge = { ...record("e".repeat(64)), createdAt: new Date("0001-01-01T00:00:00.000Z") };
    await database.store.create(edge);
    expect((await database.store.get(edge.id, now))?.createdAt).toEqual(edge.createdAt);
  });

  it("a patch deletes keys that an array literal must quote, and only them", async () => {
    const own = await openPglite();
    try {
      await deletesAwkwardKeys(own.store, "f".repeat(64));
    } finally {
      await own.close();
    }
  });
});

describe.skipIf(!databaseUrl)("drizzleStore hot statements on Postgres through postgres.js", () => {
  let database: TestDatabase;
  const clients: postgres.Sql[] = [];
  beforeAll(async () => {
    database = await openPostgresJs(databaseUrl as string);
  });
  afterAll(async () => {
    for (const client of clients) await client.end({ timeout: 5 });
    await database.close();
  });
  const storeOver = (options: postgres.Options<Record<string, postgres.PostgresType>>) => {
    const client = postgres(database.url as string, { max: 2, onnotice: () => {}, ...options });
    clients.push(client);
    return drizzleStore({ db: drizzle({ client }) });
  };

  it("reads the exact times under a non-ISO DateStyle and a non-UTC time zone", async () => {
    const store = storeOver({ connection: { DateStyle: "SQL, DMY", TimeZone: "America/St_Johns" } });
    await roundTrip(store, "b".repeat(64));
  });

  it("reads data from a client that leaves jsonb as text, and from one that renames columns", async () => {
    const asText = { to: 3802, from: [3802], serialize: (x: unknown) => x as string, parse: (x: string) => x };
    await roundTrip(storeOver({ types: { jsonbText: asText } }), "c".repeat(64));
    await roundTrip(storeOver({ transform: { column: { from: (name: string) => name.toUpperCase() } } }), "d".repeat(64));
  });

  it("a patch deletes keys that an array literal must quote, on plain and column-renaming clients", async () => {
    await deletesAwkwardKeys(database.store, "1".repeat(64));
    // postgres.js with a `transform` sent a JavaScript array parameter as its bare first element.
    await deletesAwkwardKeys(
      storeOver({ transform: { column: { from: (name: string) => name.toUpperCase() } } }),
      "2".repeat(64),
    );
  });

  it("a jsonb string of JSON text stays corrupt on a client that leaves jsonb as text (B12)", async () => {
    const asText = { to: 3802, from: [3802], serialize: (x: unknown) => x as string, parse: (x: string) => x };
    const store = storeOver({ types: { jsonbText: asText } });
    const id = "e".repeat(64);
    await store.create(record(id));
    await database.query(`update sessions set data = '"{}"'::jsonb where id = $1`, [id]);
    await expect(store.get(id, now)).rejects.toMatchObject({ code: "SESSION_CORRUPT" });
  });
});
