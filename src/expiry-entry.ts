import type { ExpiryOverride } from "./expiry.js";
import type { StoredEntry } from "./store.js";

/**
 * A session's own expiry (`setExpiry`) is kept in the record's data under `$expiry`, as
 * Django keeps `_session_expiry`: it then travels in the same patch as the data, with no
 * extra column for stores to carry.
 */
export function serializeExpiry(override: ExpiryOverride): StoredEntry {
  return { json: { ...override } };
}

/** The stored override, or undefined when the entry is malformed (treated as no override). */
export function parseExpiry(entry: StoredEntry): ExpiryOverride | undefined {
  const json = entry.json;
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined;
  if (json.kind === "browser") return { kind: "browser" };
  if (json.kind === "at" && typeof json.atMs === "number" && Number.isFinite(json.atMs)) return { kind: "at", atMs: json.atMs };
  if (json.kind === "idle" && typeof json.seconds === "number" && json.seconds >= 0) {
    return { kind: "idle", seconds: json.seconds };
  }
  return undefined;
}
