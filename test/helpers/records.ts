import { randomBytes } from "node:crypto";
import type { StoredData, StoredSession } from "../../src/store.js";
import { jsonbEntryBytes } from "../../src/stores/drizzle/jsonb-size.js";
import { createToken, hashToken } from "../../src/token.js";

/** The time the records below are written at, unless a test gives its own. */
export const RECORD_NOW = new Date(Date.UTC(2026, 0, 1, 12));

/**
 * A live record as the core writes one (rev 1, an hour to live, signed in as "u1") under a fresh
 * random id; `overrides` replace any field.
 */
export function storedRecord(overrides: Partial<StoredSession> = {}, now = RECORD_NOW): StoredSession {
  return {
    id: randomBytes(32).toString("hex"),
    data: { userId: { json: "u1" } },
    expiresAt: new Date(now.getTime() + 3600_000),
    absoluteExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    schemaVersion: 1,
    rev: 1,
    successorId: null,
    ...overrides,
  };
}

/**
 * A token and a live record stored under its hash, with the data given as is: for tests that
 * put into a store what the core would never write (corrupt, hostile or legacy data).
 */
export async function craftedRecord(data: StoredData, now = RECORD_NOW) {
  const token = createToken();
  const record = storedRecord({ id: hashToken(token), data }, now);
  return { token, record };
}

/**
 * `record` as a Redis-backed store reads it back: with `dataBytes`, the UTF-8 size of each entry's
 * JSON summed, which the core trusts for `maxBytes` (so the tests pin it exactly).
 */
export function sized(record: StoredSession): StoredSession {
  let dataBytes = 0;
  for (const entry of Object.values(record.data)) dataBytes += Buffer.byteLength(JSON.stringify(entry));
  return { ...record, dataBytes };
}

/**
 * `record` as `drizzleStore` reads it back: with `measuredBytes`, the length of its data's jsonb
 * text, which is Σ `jsonbEntryBytes` over its entries (0 for none). The core trusts it for
 * `maxBytes`, so the tests pin it exactly.
 */
export function jsonbSized(record: StoredSession): StoredSession {
  let measuredBytes = 0;
  for (const [key, entry] of Object.entries(record.data)) measuredBytes += jsonbEntryBytes(key, entry);
  return { ...record, measuredBytes };
}
