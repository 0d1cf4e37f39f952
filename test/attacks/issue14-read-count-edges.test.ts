/**
 * Issue 14 attack on the counted one-string Redis read (fb78bb0, `hashReader`): HGETALL joined by
 * NUL plus a trailing NUL and the element count; a split whose count disagrees is read again as
 * the plain array. Hashes whose text holds NULs, values that end in digits or look like counts,
 * fields named like counts, and keys that change (or change type) between the two reads.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { SessionCorruptError } from "../../src/errors.js";
import { defineSession } from "../../src/index.js";
import { hashReader } from "../../src/stores/redis/hash-codec.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { hashToken } from "../../src/token.js";
import { deleteKeys } from "../helpers/redis-keys.js";
import { redisUrl } from "../helpers/redis-server.js";

type Hooked = Redis & {
  tesseraReadHash(key: string): Promise<unknown>;
  tesseraReadHashArray(key: string): Promise<unknown>;
};

/** HGETALL as pairs sorted by field, for an order-free comparison with the reader's flat list. */
const pairsOf = (flat: readonly string[]) => {
  const pairs: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i] as string, flat[i + 1] as string]);
  return pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
};
const sorted = (hash: Record<string, string>) => pairsOf(Object.entries(hash).flat());

describe.skipIf(!redisUrl)("issue 14 redis read: the element count", () => {
  let redis: Hooked;
  const prefix = `issue14-rc-${randomUUID().slice(0, 8)}:`;
  beforeAll(() => {
    redis = new Redis(redisUrl as string) as Hooked;
  });
  afterAll(async () => {
    await deleteKeys(redis, `${prefix}*`);
    redis.disconnect();
  });
  const key = () => `${prefix}${randomUUID()}`;

  it("values and fields that end in digits, look like counts, or hold NULs: exactly HGETALL's pairs", async () => {
    const read = hashReader(redis);
    const cases: Record<string, string>[] = [
      { f: "\u00000" },
      { f: "\u00002" },
      { "16": "16" },
      { a: "b\u00002", c: "4" },
      { "\u00004": "\u0000" },
      { "": "", "0": "0" },
      { a: "\u0000", b: "\u0000\u0000", c: "3\u00006" },
      { x: "2\u00002\u00002" },
      { a: "1", b: "2\u00004\u0000" },
    ];
    for (const hash of cases) {
      const k = key();
      await redis.hset(k, hash);
      const flat = await read(k);
      expect(flat.length, JSON.stringify(hash)).toBe(Object.keys(hash).length * 2);
      expect(pairsOf(flat), JSON.stringify(hash)).toEqual(sorted(hash));
    }
  });

  it("a hash with no NUL is read in one command; one with a NUL in two", async () => {
    const read = hashReader(redis);
    const second = redis.tesseraReadHashArray.bind(redis);
    let arrayReads = 0;
    redis.tesseraReadHashArray = async (arg: string) => {
      arrayReads++;
      return second(arg);
    };
    try {
      const k = key();
      await redis.hset(k, { "2": "2", "": "0" });
      expect(pairsOf(await read(k))).toEqual(sorted({ "2": "2", "": "0" }));
      expect(await read(key())).toEqual([]);
      expect(arrayReads).toBe(0);
      await redis.hset(k, { z: "\u00001" });
      expect(pairsOf(await read(k))).toEqual(sorted({ "2": "2", "": "0", z: "\u00001" }));
      expect(arrayReads).toBe(1);
    } finally {
      redis.tesseraReadHashArray = second;
    }
  });

  it("a missing key and an emptied hash both read as no pairs", async () => {
    const read = hashReader(redis);
    expect(await read(key())).toEqual([]);
    const k = key();
    await redis.hset(k, { a: "1" });
    await redis.hdel(k, "a");
    expect(await read(k)).toEqual([]);
  });

  it("300 random hashes over {NUL, digits, empty}: the reader always agrees with HGETALL", async () => {
    const read = hashReader(redis);
    const alphabet = ["\u0000", "0", "1", "2", "9", "a", "\u0000\u0000", "10"];
    let seed = 14;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const word = () => Array.from({ length: rnd(4) }, () => alphabet[rnd(alphabet.length)]).join("");
    for (let i = 0; i < 300; i++) {
      const hash: Record<string, string> = {};
      const n = 1 + rnd(6);
      for (let j = 0; j < n; j++) hash[word()] = word();
      const k = key();
      await redis.hset(k, hash);
      const expected = (await redis.hgetall(k)) as Record<string, string>;
      expect(pairsOf(await read(k)), JSON.stringify(hash)).toEqual(sorted(expected));
    }
  });

  it("10,000 fields whose last value ends in NUL and the count, and a 10 MB value with NULs: read whole", async () => {
    const read = hashReader(redis);
    const k = key();
    const hash: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) hash[String(i)] = String(i);
    hash["9999"] = "\u000020000";
    await redis.hset(k, hash);
    const flat = await read(k);
    expect(flat.length).toBe(20_000);
    expect(pairsOf(flat)).toEqual(sorted(hash));

    const big = key();
    const value = `${"v".repeat(5_000_000)}\u0000${"w".repeat(5_000_000)}\u00002`;
    await redis.hset(big, { a: value, b: "3" });
    const got = await read(big);
    expect(got.length).toBe(4);
    expect(pairsOf(got)).toEqual(sorted({ a: value, b: "3" }));
  }, 60_000);

  it("the hash changes between the two reads: the second read's pairs, whole, never a mix", async () => {
    const read = hashReader(redis);
    const k = key();
    await redis.hset(k, { a: "x\u0000y", b: "1" });
    const first = redis.tesseraReadHash.bind(redis);
    redis.tesseraReadHash = async (arg: string) => {
      const reply = await first(arg);
      await redis.del(k);
      await redis.hset(k, { c: "2", d: "\u00003" });
      return reply;
    };
    const second = redis.tesseraReadHashArray.bind(redis);
    let arrayReads = 0;
    redis.tesseraReadHashArray = async (arg: string) => {
      arrayReads++;
      return second(arg);
    };
    try {
      expect(pairsOf(await read(k))).toEqual(sorted({ c: "2", d: "\u00003" }));
      expect(arrayReads).toBe(1);
    } finally {
      redis.tesseraReadHash = first;
      redis.tesseraReadHashArray = second;
    }
  });

  it("the key is deleted between the two reads: no pairs", async () => {
    const read = hashReader(redis);
    const k = key();
    await redis.hset(k, { a: "x\u0000y" });
    const first = redis.tesseraReadHash.bind(redis);
    redis.tesseraReadHash = async (arg: string) => {
      const reply = await first(arg);
      await redis.del(k);
      return reply;
    };
    try {
      expect(await read(k)).toEqual([]);
    } finally {
      redis.tesseraReadHash = first;
    }
  });

  const otherTypes: [string, (k: string) => Promise<unknown>][] = [
    ["string", (k) => redis.set(k, "a\u0000b\u00002")],
    ["list", (k) => redis.rpush(k, "a", "b")],
    ["set", (k) => redis.sadd(k, "a")],
    ["zset", (k) => redis.zadd(k, 1, "a")],
    ["stream", (k) => redis.xadd(k, "*", "a", "b")],
  ];
  for (const [type, make] of otherTypes) {
    it(`the key becomes a ${type} between the two reads: SessionCorruptError from the reader, a fresh session from load`, async () => {
      const read = hashReader(redis);
      const k = key();
      await redis.hset(k, { a: "x\u0000y" });
      const first = redis.tesseraReadHash.bind(redis);
      redis.tesseraReadHash = async (arg: string) => {
        const reply = await first(arg);
        await redis.del(arg);
        await make(arg);
        return reply;
      };
      try {
        await expect(read(k)).rejects.toBeInstanceOf(SessionCorruptError);
      } finally {
        redis.tesseraReadHash = first;
      }

      // Through the public API: a stored session whose hash holds a NUL, then another type.
      const storePrefix = `${prefix}${type}:`;
      const sessions = defineSession({
        schema: z.object({ userId: z.string().optional() }),
        store: redisStore({ redis, prefix: storePrefix }),
        cookie: { secure: false, name: "sid" },
      });
      const s = await sessions.load(null);
      s.set("userId", "u1");
      const token = ((await s.commit())[0] as string).split(";")[0]?.split("=")[1] as string;
      const sessionKey = `${storePrefix}s:{${hashToken(token)}}`;
      expect(await redis.exists(sessionKey)).toBe(1);
      await redis.hset(sessionKey, { "x\u0000": "\u00001" });
      redis.tesseraReadHash = async (arg: string) => {
        const reply = await first(arg);
        if (arg === sessionKey) {
          await redis.del(arg);
          await make(arg);
        }
        return reply;
      };
      try {
        const loaded = await sessions.load(`sid=${token}`);
        expect(loaded.get("userId")).toBeUndefined();
      } finally {
        redis.tesseraReadHash = first;
      }
    });
  }
});
