import { createHash } from "node:crypto";
import { EncodeFailure, encodeValue } from "../../src/codec.js";
import type { StoredData } from "../../src/store.js";
import { createToken, hashToken } from "../../src/token.js";
import { makePayload } from "../workload.js";

/**
 * What the seeders write instead of running a million commits: Tessera's own stored form of
 * `makePayload(k)`, entry by entry through the codec that `commit()` uses, so every row decodes
 * through `defineSession` exactly as a committed one does.
 */
export function storedData(k: number): StoredData {
  const data: StoredData = {};
  for (const [key, value] of Object.entries(makePayload(k))) {
    const encoded = encodeValue(value);
    if (encoded instanceof EncodeFailure) throw new Error(`payload key ${key}: ${encoded.reason}`);
    data[key] = encoded.entry;
  }
  return data;
}

/** Rows cycle through this many payloads: variety enough, and a million encodes would dominate seeding. */
export const PAYLOAD_VARIANTS = 1_000;

/** The sessions timed: real tokens (as a browser would send them) and the store ids they hash to. */
export interface Samples {
  cookies: string[];
  ids: string[];
}

export function makeSamples(n: number, cookieName: string): Samples {
  const tokens = Array.from({ length: n }, () => createToken());
  return { cookies: tokens.map((token) => `${cookieName}=${token}`), ids: tokens.map(hashToken) };
}

/** A filler row's id: nobody holds its token, but it has the shape (64 hex) and spread of a real one. */
export function fillerId(tag: string, i: number): string {
  return createHash("sha256").update(`filler:${tag}:${i}`).digest("hex");
}
