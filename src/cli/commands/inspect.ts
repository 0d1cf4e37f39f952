import { decodeEntry, isStoredEntry } from "../../codec.js";
import type { StoredSession } from "../../store.js";
import { sessionTag } from "../../token.js";
import type { Io } from "../io.js";
import { type GlobalOptions, openStore } from "../open-store.js";
import { lookUp, parseWhere } from "../where.js";

export interface InspectCommandOptions extends GlobalOptions {
  where?: string[];
  /** Most sessions printed. */
  limit: number;
}

/** Where `setExpiry` keeps a session's own expiry: core bookkeeping, not the app's data. */
const EXPIRY_KEY = "$expiry";

/**
 * `tessera inspect --where …`: the live matching sessions as JSON, newest first. Never the id
 * (the token's hash and the row's key) nor anything a browser could replay: a tag stands in.
 */
export async function inspectCommand(options: InspectCommandOptions, io: Io): Promise<void> {
  const where = parseWhere(options.where);
  const opened = await openStore(options);
  try {
    const now = new Date();
    const records = await lookUp(() => opened.store.find(where, now, { limit: options.limit }));
    // Indented: this listing is read by a person more often than piped.
    io.out(
      JSON.stringify(
        records.map((record) => view(record, now)),
        null,
        2,
      ),
    );
  } finally {
    await opened.close();
  }
}

function view(record: StoredSession, now: Date) {
  return {
    tag: sessionTag(record.id),
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    expiresAt: record.expiresAt.toISOString(),
    schemaVersion: record.schemaVersion,
    data: decodeData(record.data, now),
  };
}

/**
 * Each entry as the app would read it: decoded by superjson, keys whose own `exp` passed left
 * out (a load treats them as absent), then made JSON-safe. An entry that does not decode is
 * shown as stored rather than failing the whole listing.
 */
function decodeData(data: Record<string, unknown>, now: Date): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(data)) {
    if (key === EXPIRY_KEY) continue;
    if (!isStoredEntry(entry)) {
      out[key] = entry;
      continue;
    }
    if (entry.exp !== undefined && entry.exp <= now.getTime()) continue;
    try {
      out[key] = toJson(decodeEntry(entry));
    } catch {
      out[key] = entry.json;
    }
  }
  return out;
}

/**
 * superjson's types as plain JSON: Date → ISO string (JSON.stringify does it too), BigInt →
 * string (JSON.stringify throws on it), Map → object when its keys are strings else entries,
 * Set → array, undefined → left out, non-finite numbers → their name.
 */
function toJson(value: unknown): unknown {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (value instanceof Set) return [...value].map(toJson);
  if (value instanceof Map) {
    const entries = [...value.entries()];
    return entries.every(([k]) => typeof k === "string")
      ? Object.fromEntries(entries.map(([k, v]) => [k, toJson(v)]))
      : entries.map(([k, v]) => [toJson(k), toJson(v)]);
  }
  if (value instanceof RegExp || value instanceof Error || value instanceof URL) return String(value);
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toJson(v)));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}
