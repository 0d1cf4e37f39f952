import * as fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SessionConfigError, SessionTooLargeError } from "../../src/errors.js";
import type { CookieSessionStore, StoredData, StoredSession } from "../../src/store.js";
import { fromBase64Url, toBase64Url } from "../../src/stores/cookie/base64url.js";
import { cookieStore, createCookieStore } from "../../src/stores/cookie/cookie-store.js";
import { deriveKeyRing, normalizeSecrets, type SealKey } from "../../src/stores/cookie/keys.js";
import { MAX_PLAINTEXT_BYTES, nodeDeflate, sealBody, sealParts } from "../../src/stores/cookie/seal.js";

const SECRET_A = "a-secret-of-at-least-32-characters-AAAA";
const SECRET_B = "b-secret-of-at-least-32-characters-BBBB";
const NOW = new Date(Date.UTC(2026, 0, 1, 12));
const HOUR = 3600_000;
const NAME = "sid";
const SHAPE = /^v2\.[0-3]\.[A-Za-z0-9_-]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/;
const encoder = new TextEncoder();

function hexId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function makeRecord(data: StoredData = { userId: { json: "u_1" } }, overrides: Partial<StoredSession> = {}): StoredSession {
  return {
    id: hexId(),
    data,
    expiresAt: new Date(NOW.getTime() + HOUR),
    absoluteExpiresAt: new Date(NOW.getTime() + 24 * HOUR),
    createdAt: new Date(NOW.getTime() - 1234),
    updatedAt: NOW,
    schemaVersion: 3,
    rev: 7,
    successorId: null,
    ...overrides,
  };
}

/** About 1 KB of JSON, shaped like a real session (superjson entries, a Date in meta, a flash). */
function kilobyteRecord(): StoredSession {
  return makeRecord({
    userId: { json: "usr_8f3a2c9d1e7b4a60" },
    email: { json: "ada.lovelace@example.com" },
    roles: { json: ["admin", "editor", "viewer"] },
    lastLogin: { json: "2025-12-31T23:59:59.000Z", meta: { values: ["Date"] } },
    prefs: { json: { theme: "dark", locale: "en-GB", tz: "Europe/London", density: "compact", beta: true } },
    cart: {
      json: Array.from({ length: 6 }, (_, i) => ({
        sku: `SKU-${1000 + i}`,
        qty: i + 1,
        price: 19.99 + i,
        note: `item number ${i}`,
      })),
    },
    csrf: { json: "3q2+7w8fYbZkN1xQmLrT0vA9sHcUeJiO" },
    notice: { json: "Your profile was saved.", flash: true },
    otpUntil: { json: 1, exp: NOW.getTime() + 300_000 },
  });
}

const stores = {
  plain: () => cookieStore({ secrets: SECRET_A, compress: false }),
  compressed: () => cookieStore({ secrets: SECRET_A }),
  encrypted: () => cookieStore({ secrets: SECRET_A, encrypt: true }),
  "encrypted, uncompressed": () => cookieStore({ secrets: SECRET_A, encrypt: true, compress: false }),
} satisfies Record<string, () => CookieSessionStore>;
const modes = Object.entries(stores);

async function currentKey(secrets: string | string[] = SECRET_A): Promise<SealKey> {
  return (await deriveKeyRing(normalizeSecrets(secrets))).current;
}

/** MACs `signed` with `key` the way the store does (over `name=` and the value): for values only an attacker holding the key could make. */
async function mac(key: CryptoKey, signed: string, name: string = NAME): Promise<string> {
  const tag = await crypto.subtle.sign("HMAC", key, encoder.encode(`${name}=${signed}`));
  return `${signed}.${toBase64Url(new Uint8Array(tag))}`;
}

/** A body as the store lays it out: metadata JSON, a newline, the data section. */
function body(meta: unknown, data: Uint8Array | string): Uint8Array<ArrayBuffer> {
  const head = encoder.encode(`${typeof meta === "string" ? meta : JSON.stringify(meta)}\n`);
  const tail = typeof data === "string" ? encoder.encode(data) : data;
  const out = new Uint8Array(head.byteLength + tail.byteLength);
  out.set(head);
  out.set(tail, head.byteLength);
  return out;
}

/** Opens every value; collects those that were not refused (and any throw) so a failure names them. */
async function accepted(store: CookieSessionStore, values: readonly string[], now = NOW): Promise<string[]> {
  const bad: string[] = [];
  for (const value of values) {
    try {
      if ((await store.open(value, now, NAME)) !== null) bad.push(value);
    } catch (error) {
      bad.push(`THREW ${String(error)} for ${value}`);
    }
  }
  return bad;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("cookieStore: round trip", () => {
  it.each(modes)("%s: seal then open gives the same record, dates included, and resign false", async (_, make) => {
    const store = make();
    const record = kilobyteRecord();
    const value = await store.seal(record, NAME);
    expect(value).toMatch(SHAPE);
    expect(await store.open(value, NOW, NAME)).toEqual({ record, resign: false });
  });

  it("flags: compress:false never deflates; the default deflates a record that shrinks; encrypt sets bit 2", async () => {
    const record = kilobyteRecord();
    expect((await stores.plain().seal(record, NAME)).slice(0, 4)).toBe("v2.0");
    expect((await stores.compressed().seal(record, NAME)).slice(0, 4)).toBe("v2.1");
    expect((await stores.encrypted().seal(record, NAME)).slice(0, 4)).toBe("v2.3");
    expect((await stores["encrypted, uncompressed"]().seal(record, NAME)).slice(0, 4)).toBe("v2.2");
  });

  it("compression is used only when it makes the payload smaller", async () => {
    const key = await currentKey();
    const random = crypto.getRandomValues(new Uint8Array(300));
    const meta = encoder.encode("[]");
    expect(await sealParts(key, NAME, meta, random, { compress: true, encrypt: false, deflate: nodeDeflate })).toMatch(
      /^v2\.0\./,
    );
    expect(await sealParts(key, NAME, meta, random, { compress: true, encrypt: false, deflate: null })).toMatch(/^v2\.0\./);
  });

  it.each(modes)("R44 %s: unicode, U+0000 and lone-surrogate-free emoji round-trip exactly", async (_, make) => {
    const store = make();
    const text = "héllo wörld — 日本語 — 😀👩‍👩‍👧 — \u0000 — \u2028";
    const record = makeRecord({ t: { json: text }, [text]: { json: [text, { [text]: text }] } });
    expect((await store.open(await store.seal(record, NAME), NOW, NAME))?.record).toEqual(record);
  });

  it.each(modes)("R41 %s: a __proto__ data key comes back as an own data key, never as a prototype", async (_, make) => {
    const store = make();
    const data = JSON.parse('{"__proto__": {"json": {"isAdmin": true}}, "ok": {"json": 1}}') as StoredData;
    const opened = await store.open(await store.seal(makeRecord(data), NAME), NOW, NAME);
    const back = opened!.record.data;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, "__proto__")).toBe(true);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ json: { isAdmin: true } });
    expect(Object.keys(back)).toEqual(["__proto__", "ok"]);
    expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
    expect((back as { isAdmin?: unknown }).isAdmin).toBeUndefined();
  });

  it("R36: an encrypting store seals the same record differently every time (random IV)", async () => {
    const store = stores.encrypted();
    const record = makeRecord();
    expect(await store.seal(record, NAME)).not.toBe(await store.seal(record, NAME));
  });

  it("keys are derived once per store, even when the first calls run concurrently", async () => {
    const deriveKey = vi.spyOn(crypto.subtle, "deriveKey");
    const importKey = vi.spyOn(crypto.subtle, "importKey");
    const store = cookieStore({ secrets: [SECRET_B, SECRET_A], encrypt: true });
    const record = makeRecord();
    const values = await Promise.all(Array.from({ length: 5 }, () => store.seal(record, NAME)));
    await Promise.all(values.map((value) => store.open(value, NOW, NAME)));
    await store.open(await store.seal(record, NAME), NOW, NAME);
    expect(deriveKey).toHaveBeenCalledTimes(4); // MAC + AES key, for each of the 2 secrets
    expect(importKey).toHaveBeenCalledTimes(2);
  });
});

describe("R35: secrets are checked when the store is created", () => {
  const bad: Array<[string, unknown]> = [
    ["a secret of 31 characters", "x".repeat(31)],
    ["a short previous secret", [SECRET_A, "short"]],
    ["an empty list", []],
    ["an empty string", ""],
    ["a duplicate", [SECRET_A, SECRET_B, SECRET_A]],
    ["a non-string in the list", [SECRET_A, 42]],
    ["no secrets at all", undefined],
    ["an object", { secret: SECRET_A }],
  ];
  it.each(bad)("%s → SessionConfigError (code CONFIG), synchronously", (_, secrets) => {
    let thrown: unknown;
    try {
      cookieStore({ secrets } as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(SessionConfigError);
    expect((thrown as SessionConfigError).code).toBe("CONFIG");
    expect(String((thrown as Error).message)).not.toContain(SECRET_A);
  });

  it("non-boolean encrypt/compress → SessionConfigError", () => {
    expect(() => cookieStore({ secrets: SECRET_A, encrypt: "yes" } as never)).toThrow(SessionConfigError);
    expect(() => cookieStore({ secrets: SECRET_A, compress: 1 } as never)).toThrow(SessionConfigError);
  });

  it("a single string and a list of 32-character secrets are accepted", () => {
    expect(cookieStore({ secrets: "x".repeat(32) }).kind).toBe("cookie");
    expect(cookieStore({ secrets: [SECRET_A, SECRET_B] }).kind).toBe("cookie");
  });
});

describe("R38: every value that is not an intact seal opens as null and never throws", () => {
  it.each(modes)("%s: one changed character at every position (bit flip and substitution)", async (_, make) => {
    const store = make();
    const value = await store.seal(makeRecord(), NAME);
    const variants: string[] = [];
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      const flipped = String.fromCharCode(code ^ 1);
      const substituted = value[i] === "A" ? "B" : "A";
      variants.push(value.slice(0, i) + flipped + value.slice(i + 1), value.slice(0, i) + substituted + value.slice(i + 1));
    }
    // The last MAC character carries 2 spare bits: every other spelling of it must fail too,
    // including those that decode to the same 32 bytes (a non-canonical MAC is not our MAC).
    for (const char of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
      if (char !== value.at(-1)) variants.push(value.slice(0, -1) + char);
    }
    expect(variants.length).toBe(value.length * 2 + 63);
    expect(await accepted(store, variants)).toEqual([]);
    expect(await store.open(value, NOW, NAME)).not.toBeNull();
  });

  it.each(modes)("%s: truncated at every length", async (_, make) => {
    const store = make();
    const value = await store.seal(makeRecord(), NAME);
    expect(
      await accepted(
        store,
        Array.from({ length: value.length }, (_, n) => value.slice(0, n)),
      ),
    ).toEqual([]);
  });

  it.each(modes)("%s: parts re-ordered, an extra part, trailing and leading junk (cookie-signature #40)", async (_, make) => {
    const store = make();
    const value = await store.seal(makeRecord(), NAME);
    const [v, flags, kid, payload, tag] = value.split(".") as [string, string, string, string, string];
    const junk = [
      [v, flags, kid, tag, payload],
      [v, kid, flags, payload, tag],
      [flags, v, kid, payload, tag],
      [tag, payload, kid, flags, v],
      [v, flags, kid, payload, payload, tag],
    ].map((parts) => parts.join("."));
    for (const suffix of [".", ".AAAA", `.${tag}`, "A", "=", "==", " ", ";", "\n", "\u0000", "%3D"]) junk.push(value + suffix);
    for (const prefix of [".", "A", " ", "v2.", "sid="]) junk.push(prefix + value);
    expect(await accepted(store, junk)).toEqual([]);
  });

  it.each(modes)("%s: a different secret, and a store that only has another secret", async (_, make) => {
    const value = await make().seal(makeRecord(), NAME);
    const other = [
      cookieStore({ secrets: SECRET_B, compress: false }),
      cookieStore({ secrets: SECRET_B, encrypt: true }),
      cookieStore({ secrets: [SECRET_B] }),
    ];
    for (const store of other) expect(await accepted(store, [value])).toEqual([]);
  });

  it("unknown versions and flags are refused even when correctly MACed", async () => {
    const key = await currentKey();
    const value = await stores.plain().seal(makeRecord(), NAME);
    const [, , kid, payload] = value.split(".");
    const forged: string[] = [];
    for (const version of ["v1", "v3", "v0", "V2", "v02", "none", ""])
      forged.push(await mac(key.mac, `${version}.0.${kid}.${payload}`));
    for (const flags of ["4", "7", "8", "a", "00", "-1", ""]) forged.push(await mac(key.mac, `v2.${flags}.${kid}.${payload}`));
    expect(await accepted(stores.plain(), forged)).toEqual([]);
    expect(await accepted(stores.compressed(), forged)).toEqual([]);
  });

  it("flags tampered to claim 'not encrypted' or 'not compressed' fail the MAC", async () => {
    const encrypted = await stores.encrypted().seal(kilobyteRecord(), NAME);
    const compressed = await stores.compressed().seal(kilobyteRecord(), NAME);
    expect(encrypted.slice(0, 4)).toBe("v2.3");
    expect(compressed.slice(0, 4)).toBe("v2.1");
    const tampered = ["v2.1", "v2.0", "v2.2"].map((head) => head + encrypted.slice(4));
    expect(await accepted(stores.encrypted(), tampered)).toEqual([]);
    expect(await accepted(stores.plain(), tampered)).toEqual([]);
    expect(await accepted(stores.compressed(), [`v2.0${compressed.slice(4)}`, `v2.3${compressed.slice(4)}`])).toEqual([]);
  });

  it("no downgrade: an encrypted value does not open in a plaintext store, nor a plaintext one in an encrypting store", async () => {
    const record = makeRecord();
    const encrypted = [await stores.encrypted().seal(record, NAME), await stores["encrypted, uncompressed"]().seal(record, NAME)];
    const plain = [await stores.plain().seal(record, NAME), await stores.compressed().seal(record, NAME)];
    expect(await accepted(stores.plain(), encrypted)).toEqual([]);
    expect(await accepted(stores.compressed(), encrypted)).toEqual([]);
    expect(await accepted(stores.encrypted(), plain)).toEqual([]);
    expect(await accepted(stores["encrypted, uncompressed"](), plain)).toEqual([]);
    // Even with the key: a plaintext body re-MACed under an "encrypted" store is refused by mode.
    const key = await currentKey();
    const json = body(wireMeta(record), "{}");
    const forged = [await sealBody(key, NAME, 0, json), await sealBody(key, NAME, 1, json)];
    expect(await accepted(stores.encrypted(), forged)).toEqual([]);
  });

  it("alg-style tricks: version none, empty or zero MAC, missing MAC, a JWT", async () => {
    const store = stores.plain();
    const value = await store.seal(makeRecord(), NAME);
    const signed = value.slice(0, value.lastIndexOf("."));
    const [, , kid, payload] = value.split(".");
    const tricks = [
      `none.0.${kid}.${payload}.`,
      `none.0.${kid}.${payload}`,
      `${signed}.`,
      signed,
      `${signed}.${"A".repeat(43)}`,
      `${signed}.${"A".repeat(42)}`,
      `${signed}.${"A".repeat(44)}`,
      `v2.0.${kid}.${payload}.${value.slice(value.lastIndexOf(".") + 1, -1)}`,
      `v2.0.${"A".repeat(8)}.${payload}.${value.slice(value.lastIndexOf(".") + 1)}`,
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJpZCI6IjEifQ.",
      `v2.0..${payload}.${value.slice(value.lastIndexOf(".") + 1)}`,
      "....",
      "",
    ];
    expect(await accepted(store, tricks)).toEqual([]);
  });

  it.each(modes)("%s: non-base64url characters anywhere", async (_, make) => {
    const store = make();
    const value = await store.seal(makeRecord(), NAME);
    const payloadAt = value.indexOf(".", 5) + 5;
    const macAt = value.length - 10;
    const values: string[] = [];
    for (const char of ["+", "/", "=", "%", " ", "é", "\u0000", "\uD800", "*", "~"]) {
      for (const at of [1, 3, 6, payloadAt, macAt, value.length - 1])
        values.push(value.slice(0, at) + char + value.slice(at + 1));
    }
    expect(await accepted(store, values)).toEqual([]);
  });

  it.each(modes)("%s: 10 KB of garbage, and well-shaped values of 4 KB and 10 KB", async (_, make) => {
    const store = make();
    const value = await store.seal(makeRecord(), NAME);
    const kid = value.split(".")[2];
    const random = Array.from(crypto.getRandomValues(new Uint8Array(10_240)), (b) => String.fromCharCode(32 + (b % 95))).join("");
    const big = (n: number) => `v2.0.${kid}.${toBase64Url(crypto.getRandomValues(new Uint8Array(n)))}.${"A".repeat(43)}`;
    expect(await accepted(store, [random, "A".repeat(10_240), ".".repeat(10_240), big(2_900), big(7_500)])).toEqual([]);
  });

  it("a MAC-valid body that is not a well-formed record is refused (shape validation)", async () => {
    const key = await currentKey();
    const good = [hexId(), NOW.getTime() + HOUR, null, 0, 0, 1, 1, null];
    const at = (i: number, value: unknown) => good.map((x, j) => (j === i ? value : x));
    const bodies: Array<[unknown, string]> = [
      ["not json", "{}"],
      [good, "not json"],
      [{ i: good[0], d: {}, e: good[1], a: null, c: 0, u: 0, v: 1, r: 1, s: null }, "{}"], // v1's object shape
      [good.slice(0, 7), "{}"],
      [[...good, 1], "{}"],
      [at(0, "A".repeat(64)), "{}"],
      [at(0, hexId().slice(1)), "{}"],
      [good, "[]"],
      [good, '{"k":"x"}'],
      [good, '{"k":{"meta":1}}'],
      [good, '{"k":{"json":1,"exp":"soon"}}'],
      [good, '{"k":{"json":1,"flash":false}}'],
      [at(1, "2026-01-01"), "{}"],
      [at(1, 1e300), "{}"],
      [at(2, "x"), "{}"],
      [at(5, 1.5), "{}"],
      [at(6, null), "{}"],
      [at(7, "nope"), "{}"],
    ];
    const values = await Promise.all(bodies.map(([meta, data]) => sealBody(key, NAME, 0, body(meta, data))));
    values.push(await sealBody(key, NAME, 0, encoder.encode(JSON.stringify(good)))); // no separator
    values.push(await sealBody(key, NAME, 0, body(good, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])))); // invalid UTF-8
    values.push(await sealBody(key, NAME, 0, body(new Uint8Array([0x5b, 0xff, 0x5d]) as never, "{}")));
    values.push(await sealBody(key, NAME, 1, body(good, "not deflate")));
    expect(await accepted(stores.plain(), values)).toEqual([]);
    expect(await stores.plain().open(await sealBody(key, NAME, 0, body(good, "{}")), NOW, NAME)).not.toBeNull();
  });
});

describe("R37: expiry is inside the seal and checked against now", () => {
  it.each(modes)("%s: null at and after expiresAt, the record just before", async (_, make) => {
    const store = make();
    const record = makeRecord();
    const value = await store.seal(record, NAME);
    const expiresMs = record.expiresAt.getTime();
    expect(await store.open(value, new Date(expiresMs - 1), NAME)).not.toBeNull();
    expect(await store.open(value, new Date(expiresMs), NAME)).toBeNull();
    expect(await store.open(value, new Date(expiresMs + 1), NAME)).toBeNull();
    expect(await store.open(value, new Date(expiresMs + 365 * 24 * HOUR), NAME)).toBeNull();
  });

  it("null once absoluteExpiresAt has passed, even if expiresAt has not", async () => {
    const store = stores.compressed();
    const record = makeRecord(undefined, { absoluteExpiresAt: new Date(NOW.getTime() + 60_000) });
    expect(await store.open(await store.seal(record, NAME), new Date(NOW.getTime() + 60_000), NAME)).toBeNull();
  });
});

describe("R34: rotation signs with the current secret only", () => {
  it.each([false, true])("encrypt %s: sealed with A, opened by [B, A] → the record and resign: true", async (encrypt) => {
    const record = makeRecord();
    const value = await cookieStore({ secrets: SECRET_A, encrypt }).seal(record, NAME);
    expect(await cookieStore({ secrets: [SECRET_B, SECRET_A], encrypt }).open(value, NOW, NAME)).toEqual({
      record,
      resign: true,
    });
  });

  it.each([false, true])("encrypt %s: [B, A] seals with B only; [B] rejects an A-sealed value", async (encrypt) => {
    const record = makeRecord();
    const rotated = cookieStore({ secrets: [SECRET_B, SECRET_A], encrypt });
    const value = await rotated.seal(record, NAME);
    expect(await rotated.open(value, NOW, NAME)).toEqual({ record, resign: false });
    expect(await cookieStore({ secrets: [SECRET_B], encrypt }).open(value, NOW, NAME)).toEqual({ record, resign: false });
    expect(await cookieStore({ secrets: [SECRET_A], encrypt }).open(value, NOW, NAME)).toBeNull(); // CVE-2025-47278
    const old = await cookieStore({ secrets: SECRET_A, encrypt }).seal(record, NAME);
    expect(await cookieStore({ secrets: [SECRET_B], encrypt }).open(old, NOW, NAME)).toBeNull();
  });
});

describe("R36: encrypted values carry no readable data", () => {
  const MARKER = "CORRECT-HORSE-BATTERY-STAPLE";
  const record = () => makeRecord({ password: { json: MARKER }, again: { json: `${MARKER}/${MARKER}` } });
  /** The value itself, and the bytes of every part decoded as base64url, as Latin-1 and UTF-8. */
  const readable = (value: string) => {
    const views = [value];
    for (const part of value.split(".")) {
      const bytes = fromBase64Url(part);
      if (bytes === null) continue;
      views.push(String.fromCharCode(...bytes), new TextDecoder().decode(bytes));
    }
    return views.some((view) => view.includes(MARKER) || view.includes(record().id.slice(0, 16)));
  };

  it.each([stores.encrypted, stores["encrypted, uncompressed"]])("encrypted (%#): no part contains the data", async (make) => {
    const store = make();
    for (let i = 0; i < 20; i++) expect(readable(await store.seal(record(), NAME))).toBe(false);
  });

  it("contrast: an unencrypted, uncompressed value shows the data to anyone (documented on the option)", async () => {
    expect(readable(await stores.plain().seal(record(), NAME))).toBe(true);
  });
});

describe("R33: keys are dedicated to this purpose", () => {
  it("a value MACed with the raw secret, or with a key derived for another purpose, does not open", async () => {
    const store = stores.plain();
    const value = await store.seal(makeRecord(), NAME);
    const signed = value.slice(0, value.lastIndexOf("."));
    const raw = await crypto.subtle.importKey("raw", encoder.encode(SECRET_A), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    const base = await crypto.subtle.importKey("raw", encoder.encode(SECRET_A), "HKDF", false, ["deriveKey"]);
    const otherPurpose = await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode("tessera.csrf"), info: encoder.encode("tessera.csrf.v1.mac") },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
    expect(await accepted(store, [await mac(raw, signed), await mac(otherPurpose, signed)])).toEqual([]);
    expect(await store.open(value, NOW, NAME)).not.toBeNull();
  });
});

describe("R32: size caps on what a verified value may expand to", () => {
  async function deflate(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  it("a zip bomb (a valid record padded to 1 MiB, deflated to ~1 KB), correctly MACed, opens as null", async () => {
    const key = await currentKey();
    const record = makeRecord();
    const bomb = await deflate(encoder.encode(JSON.stringify(record.data) + " ".repeat(1024 * 1024)));
    expect(bomb.byteLength).toBeLessThan(2048);
    const plainBomb = await sealBody(key, NAME, 1, body(wireMeta(record), bomb));
    const encryptedBomb = await sealBody(key, NAME, 3, body(wireMeta(record), bomb));
    expect(await accepted(stores.compressed(), [plainBomb])).toEqual([]);
    expect(await accepted(stores.plain(), [plainBomb])).toEqual([]);
    expect(await accepted(stores.encrypted(), [encryptedBomb])).toEqual([]);
  });

  it("the cap is what refuses it: valid JSON padded just under 64 KiB opens, just over does not", async () => {
    const key = await currentKey();
    const record = makeRecord();
    const meta = JSON.stringify(wireMeta(record)); // ASCII, so characters = bytes
    const json = JSON.stringify(record.data);
    // Trailing whitespace keeps it valid JSON of the same data, so only the size differs.
    const padded = async (size: number) =>
      body(meta, await deflate(encoder.encode(json + " ".repeat(size - meta.length - 1 - json.length))));
    const under = await sealBody(key, NAME, 1, await padded(MAX_PLAINTEXT_BYTES));
    const over = await sealBody(key, NAME, 1, await padded(MAX_PLAINTEXT_BYTES + 1));
    expect(await stores.compressed().open(under, NOW, NAME)).toEqual({ record, resign: false });
    expect(await stores.compressed().open(over, NOW, NAME)).toBeNull();
  });

  it("seal refuses a record whose value would pass 4096 characters, or whose JSON passes 64 KiB", async () => {
    const noise = toBase64Url(crypto.getRandomValues(new Uint8Array(4000)));
    const tooBig = stores.compressed().seal(makeRecord({ noise: { json: noise } }), NAME);
    await expect(tooBig).rejects.toBeInstanceOf(SessionTooLargeError);
    await expect(tooBig).rejects.toMatchObject({ code: "SESSION_TOO_LARGE" });
    const huge = stores.compressed().seal(makeRecord({ zeros: { json: "0".repeat(MAX_PLAINTEXT_BYTES) } }), NAME);
    await expect(huge).rejects.toMatchObject({ code: "SESSION_TOO_LARGE", maxBytes: MAX_PLAINTEXT_BYTES });
  });
});

/** The metadata JSON of a record, as cookie-store.ts writes it (kept here to craft bodies). */
function wireMeta(record: StoredSession) {
  return [
    record.id,
    record.expiresAt.getTime(),
    record.absoluteExpiresAt?.getTime() ?? null,
    record.createdAt.getTime(),
    record.updatedAt.getTime(),
    record.schemaVersion,
    record.rev,
    record.successorId,
  ];
}

describe("performance (measured, not asserted)", () => {
  // Per-operation timings and medians: the machines running this are shared, and a mean over
  // 2,000 iterations moves by 2-3x with the load; the median of each operation does not.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
  const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;

  it("seal+open of a ~1 KB record, µs per operation over 2,000 iterations", async () => {
    const record = kilobyteRecord();
    const lines: string[] = [
      `record JSON ${JSON.stringify(wireMeta(record)).length + 1 + JSON.stringify(record.data).length} bytes; median (mean) µs`,
    ];
    for (const [name, make] of modes) {
      const store = make();
      for (let i = 0; i < 200; i++) await store.open(await store.seal(record, NAME), NOW, NAME);
      const seals: number[] = [];
      const opens: number[] = [];
      let value = "";
      for (let i = 0; i < 2_000; i++) {
        const t0 = performance.now();
        value = await store.seal(record, NAME);
        const t1 = performance.now();
        await store.open(value, NOW, NAME);
        seals.push((t1 - t0) * 1000);
        opens.push((performance.now() - t1) * 1000);
      }
      const cycles = seals.map((s, i) => s + opens[i]!);
      const fmt = (xs: number[]) => `${median(xs).toFixed(0)} (${mean(xs).toFixed(0)})`;
      lines.push(
        `${name.padEnd(24)} seal ${fmt(seals)}, open ${fmt(opens)}, seal+open ${fmt(cycles)}; value ${value.length} chars`,
      );
    }
    console.log(`cookieStore, 1 KB record:\n  ${lines.join("\n  ")}`);
    expect(lines.length).toBe(modes.length + 1);
  });
});

/**
 * A value in format v1 exactly as the store wrote it before B11 (no cookie name under the MAC or
 * the AAD, the whole record as one JSON object), MACed with the real key: what browsers still hold.
 */
async function sealV1(key: SealKey, record: StoredSession, flags: number): Promise<string> {
  const header = `v1.${flags}.${key.id}`;
  const wire = {
    i: record.id,
    d: record.data,
    e: record.expiresAt.getTime(),
    a: record.absoluteExpiresAt?.getTime() ?? null,
    c: record.createdAt.getTime(),
    u: record.updatedAt.getTime(),
    v: record.schemaVersion,
    r: record.rev,
    s: record.successorId,
  };
  let payload: Uint8Array<ArrayBuffer> = encoder.encode(JSON.stringify(wire));
  if ((flags & 1) !== 0) payload = nodeDeflate!.deflate(payload);
  if ((flags & 2) !== 0) {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(header) }, key.enc, payload);
    payload = new Uint8Array([...iv, ...new Uint8Array(sealed)]);
  }
  const signed = `${header}.${toBase64Url(payload)}`;
  return `${signed}.${toBase64Url(new Uint8Array(await crypto.subtle.sign("HMAC", key.mac, encoder.encode(signed))))}`;
}

describe("B11: a seal is bound to its cookie name", () => {
  it.each(modes)(
    "%s: sealed for admin_sid it does not open as sid (same secret), and the reverse; each opens under its own name",
    async (_, make) => {
      const store = make();
      const record = kilobyteRecord();
      const admin = await store.seal(record, "admin_sid");
      const user = await store.seal(record, "sid");
      expect(await store.open(admin, NOW, "sid")).toBeNull();
      expect(await store.open(user, NOW, "admin_sid")).toBeNull();
      expect(await make().open(admin, NOW, "sid")).toBeNull(); // another store instance, same secret
      expect(await store.open(admin, NOW, "admin_sid")).toEqual({ record, resign: false });
      expect(await store.open(user, NOW, "sid")).toEqual({ record, resign: false });
    },
  );

  it.each(modes)(
    "%s: names that differ by a prefix, a suffix, case or a __Host- prefix do not open each other's seals",
    async (_, make) => {
      const store = make();
      const names = ["sid", "si", "sidd", "SID", "__Host-sid", "__Secure-sid", "a.sid", "sid.", "!#$%&'*+-.^_`|~"];
      const sealed = await Promise.all(names.map((name) => store.seal(makeRecord(), name)));
      for (const [i, value] of sealed.entries()) {
        for (const [j, name] of names.entries()) {
          const opened = await store.open(value, NOW, name);
          expect(opened === null, `${names[i]} opened as ${name}`).toBe(i !== j);
        }
      }
    },
  );

  it("a name that is not a cookie token (=, ;, space, control, non-ASCII, empty, not a string) is a SessionConfigError from every method", async () => {
    const store = stores.compressed();
    const value = await store.seal(makeRecord(), NAME);
    for (const name of ["a=b", "sid=", "a;b", "a b", "a\u0000", "ſid", "", "\uD800", undefined, 42]) {
      await expect(store.seal(makeRecord(), name as string)).rejects.toBeInstanceOf(SessionConfigError);
      await expect(store.open(value, NOW, name as string)).rejects.toBeInstanceOf(SessionConfigError);
      expect(() => store.sealedLength(makeRecord(), name as string)).toThrow(SessionConfigError);
    }
  });

  it.each([false, true])(
    "encrypt %s: rotation keeps working per name: A-sealed admin_sid opens in [B, A] as admin_sid with resign, never as sid",
    async (encrypt) => {
      const record = makeRecord();
      const value = await cookieStore({ secrets: SECRET_A, encrypt }).seal(record, "admin_sid");
      const rotated = cookieStore({ secrets: [SECRET_B, SECRET_A], encrypt });
      expect(await rotated.open(value, NOW, "admin_sid")).toEqual({ record, resign: true });
      expect(await rotated.open(value, NOW, "sid")).toBeNull();
    },
  );

  it("the encrypted body is bound too: a ciphertext moved under another name's valid MAC fails decryption", async () => {
    const key = await currentKey();
    const store = stores.encrypted();
    const value = await store.seal(makeRecord(), "admin_sid");
    const signed = value.slice(0, value.lastIndexOf("."));
    // An attacker with the MAC key but not the AAD binding: re-MAC the admin_sid ciphertext for sid.
    expect(await store.open(await mac(key.mac, signed, "sid"), NOW, "sid")).toBeNull();
    expect(await store.open(await mac(key.mac, signed, "admin_sid"), NOW, "admin_sid")).not.toBeNull();
  });

  it("a cookie sealed in format v1 (no name binding), correctly MACed by the current secret, opens as null in every mode", async () => {
    const key = await currentKey();
    const record = kilobyteRecord();
    for (const [flags, make] of [
      [0, stores.plain],
      [1, stores.compressed],
      [3, stores.encrypted],
      [2, stores["encrypted, uncompressed"]],
    ] as const) {
      const v1 = await sealV1(key, record, flags);
      expect(v1.startsWith(`v1.${flags}.`)).toBe(true);
      expect(await accepted(make(), [v1, `v2${v1.slice(2)}`])).toEqual([]);
    }
  });
});

describe("B8: sealedLength tells the value's length before sealing", () => {
  const entry = fc.record(
    {
      json: fc.oneof(
        fc.string({ maxLength: 800 }),
        fc.string({ unit: "grapheme", maxLength: 300 }),
        fc.base64String({ maxLength: 1200 }),
        fc.constantFrom("x".repeat(2000), "ab".repeat(700)),
        fc.integer(),
        fc.array(fc.double({ noNaN: true, noDefaultInfinity: true }), { maxLength: 30 }),
      ),
      exp: fc.integer({ min: 0, max: 8.64e15 }),
      flash: fc.constant(true as const),
    },
    { requiredKeys: ["json"] },
  );
  const data = fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), entry, { maxKeys: 6 });
  const when = fc.integer({ min: -8.64e15, max: 8.64e15 });

  it.each([
    ["node:zlib (exact)", nodeDeflate],
    ["streams only (upper bound)", null],
  ] as const)(
    "%s: for random records, every mode, and dates moved anywhere in Date's range, seal's length is within sealedLength",
    async (label, deflate) => {
      const exact = deflate !== null;
      await fc.assert(
        fc.asyncProperty(
          data,
          fc.tuple(when, when, when, when),
          fc.boolean(),
          fc.boolean(),
          async (d, [e, a, c, u], encrypt, compress) => {
            const store = createCookieStore({ secrets: SECRET_A, encrypt, compress }, deflate);
            const record = makeRecord(d as StoredData);
            const predicted = store.sealedLength(record, NAME);
            // The same record sealed at any other instants: only the dates move.
            const later = {
              ...record,
              expiresAt: new Date(e),
              absoluteExpiresAt: new Date(a),
              createdAt: new Date(c),
              updatedAt: new Date(u),
            };
            for (const r of [record, later]) {
              const value = await store.seal(r, NAME).catch((error: unknown) => error);
              if (value instanceof SessionTooLargeError) {
                expect(predicted, label).toBeGreaterThan(MAX_VALUE_CHARS_FOR_TEST);
                continue;
              }
              expect(typeof value).toBe("string");
              expect((value as string).length).toBeLessThanOrEqual(predicted);
            }
            // Exact where the store deflates synchronously: the widened dates are the only slack.
            if (exact) {
              const widest = {
                ...record,
                expiresAt: new Date(-8.64e15),
                absoluteExpiresAt: new Date(-8.64e15),
                createdAt: new Date(-8.64e15),
                updatedAt: new Date(-8.64e15),
              };
              const value = await store.seal(widest, NAME).catch(() => null);
              if (value !== null) expect(value.length).toBe(predicted);
            }
          },
        ),
        { numRuns: 150, seed: 11_08 },
      );
    },
  );
});

const MAX_VALUE_CHARS_FOR_TEST = 4096;

describe("attacks on open: never a throw, always null", () => {
  it.each(modes)("%s: NUL, lone surrogates, 10 MB, and every v1/v2 confusion", async (_, make) => {
    const store = make();
    const value = await store.seal(makeRecord(), NAME);
    const huge = `v2.0.AAAAAAAA.${"A".repeat(10 * 1024 * 1024)}.${"A".repeat(43)}`;
    const values = [
      `${value}\u0000`,
      `\u0000${value}`,
      value.replace(".", "\u0000"),
      `${value.slice(0, 20)}\uD800${value.slice(21)}`,
      `${value.slice(0, 20)}\uDC00${value.slice(21)}`,
      "\uD800",
      huge,
      `v1${value.slice(2)}`,
      "A".repeat(10 * 1024 * 1024),
    ];
    expect(await accepted(store, values)).toEqual([]);
  });
});
