import type { StoredData, StoredSession } from "../../src/store.js";
import { createToken, hashToken } from "../../src/token.js";

/**
 * A token and a live record stored under its hash, with the data given as is: for tests that
 * put into a store what the core would never write (corrupt, hostile or legacy data).
 */
export async function craftedRecord(data: StoredData, now = new Date(Date.UTC(2026, 0, 1, 12))) {
  const token = createToken();
  const record: StoredSession = {
    id: hashToken(token),
    data,
    expiresAt: new Date(now.getTime() + 3600_000),
    absoluteExpiresAt: null,
    createdAt: now,
    updatedAt: now,
    schemaVersion: 1,
    rev: 1,
    successorId: null,
  };
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
