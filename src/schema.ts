import type * as z from "zod";
import { decodeEntry, EncodeFailure, encodeValue, isStoredEntry } from "./codec.js";
import { SessionConfigError, SessionValidationError, type ValidationIssue } from "./errors.js";
import type { StoredData, StoredEntry } from "./store.js";

/** The Zod object schema a user declares for the session contents. */
export type SessionSchema = z.ZodObject;

/** The session's keys, from the schema. */
export type SessionKey<S extends SessionSchema> = Extract<keyof S["shape"], string>;

/** What `get(key)` holds: the field's output type. */
export type SessionValue<S extends SessionSchema, K extends SessionKey<S>> = z.output<S["shape"][K]>;

/** What `set(key, value)` accepts: the field's input type. */
export type SessionInput<S extends SessionSchema, K extends SessionKey<S>> = z.input<S["shape"][K]>;

/** The keys whose field has a schema default (`.default()`/`.prefault()`): `get` never returns undefined for them. */
export type DefaultedKey<S extends SessionSchema> = {
  [K in SessionKey<S>]: S["shape"][K] extends z.ZodDefault | z.ZodPrefault ? K : never;
}[SessionKey<S>];

/** `get(key)` without a fallback: the value, or undefined for an absent key without a schema default. */
export type GetResult<S extends SessionSchema, K extends SessionKey<S>> =
  K extends DefaultedKey<S> ? SessionValue<S, K> : SessionValue<S, K> | undefined;

/** The whole session data as `all()` returns it: defaulted keys always present, the others optional. */
export type SessionData<S extends SessionSchema> = {
  readonly [K in DefaultedKey<S>]: SessionValue<S, K>;
} & {
  readonly [K in Exclude<SessionKey<S>, DefaultedKey<S>>]?: SessionValue<S, K>;
};

/** Upgrades data written under version `n - 1` to version `n`; receives and returns plain decoded values. For typed steps, see `migrationsFrom`. */
export type Migration = (data: Record<string, unknown>) => Record<string, unknown>;

/** What a load does with stored data that fails the schema. */
export type OnInvalid = "drop" | "reset" | "throw";

/** Keys the core keeps in the record beside the user's data. */
export const EXPIRY_KEY = "$expiry";

/** The schema plus versioning, resolved once by `defineSession`. */
export interface SchemaRuntime {
  shape: Readonly<Record<string, z.ZodType>>;
  version: number;
  migrations: Readonly<Record<number, Migration>>;
  onInvalid: OnInvalid;
}

/** Checks the schema and migrations at start-up. */
export function resolveSchema(
  schema: SessionSchema,
  version: number,
  migrations: Readonly<Record<number, Migration>>,
  onInvalid: OnInvalid,
): SchemaRuntime {
  if (typeof schema !== "object" || schema === null || typeof schema.shape !== "object") {
    throw new SessionConfigError("schema must be a Zod object schema (z.object({...}))");
  }
  for (const key of Object.keys(schema.shape)) {
    if (key.startsWith("$")) throw new SessionConfigError(`schema key "${key}": keys starting with "$" are reserved`);
  }
  if (!Number.isInteger(version) || version < 1) throw new SessionConfigError("version must be an integer ≥ 1");
  for (const step of Object.keys(migrations)) {
    const n = Number(step);
    if (!Number.isInteger(n) || n < 2 || n > version) {
      throw new SessionConfigError(`migrations[${step}]: keys are the versions they upgrade to, 2..${version}`);
    }
  }
  if (!["drop", "reset", "throw"].includes(onInvalid)) {
    throw new SessionConfigError('onInvalid must be "drop", "reset" or "throw"');
  }
  return { shape: schema.shape as Record<string, z.ZodType>, version, migrations, onInvalid };
}

/** Parses one value with its field's schema; throws `SessionValidationError` with Zod's issues. */
export function parseField(runtime: SchemaRuntime, key: string, value: unknown): unknown {
  const field = fieldOf(runtime, key);
  if (field === undefined) {
    throw new SessionValidationError(key, [{ code: "unrecognized_keys", path: [], message: `"${key}" is not in the schema` }]);
  }
  const result = field.safeParse(value);
  if (!result.success) throw new SessionValidationError(key, toIssues(result.error.issues));
  return result.data;
}

/** The schema default of a key (or undefined): what `get` returns for an absent key. */
export function defaultOf(runtime: SchemaRuntime, key: string): unknown {
  const result = fieldOf(runtime, key)?.safeParse(undefined);
  return result?.success ? result.data : undefined;
}

/** The schema field of a key; own keys only, so `constructor` or `__proto__` never reach Object.prototype. */
export function fieldOf(runtime: SchemaRuntime, key: string): z.ZodType | undefined {
  return Object.hasOwn(runtime.shape, key) ? runtime.shape[key] : undefined;
}

/** Loaded data, decoded and validated (or, for lazy entries, checked only as far as needs no decoding). */
export interface Hydrated {
  values: Map<string, unknown>;
  entries: Map<string, StoredEntry>;
  /**
   * Keys of `entries` not yet decoded nor validated (lazy entries): `SessionContents` reads each
   * through `readEntry` on its first use, before the app can see it. Empty on the eager path.
   */
  unread: Set<string>;
  /** Reports keys found invalid after the load (lazy entries), for the `invalid` event. */
  reportInvalid?: (keys: string[]) => void;
  /** Keys dropped as expired, undecodable or invalid: deleted by the next write. */
  dropped: string[];
  /** Keys that failed decoding or the schema (a subset of `dropped`), for the `invalid` event. */
  invalid: string[];
  /** The data was upgraded by migrations and must be rewritten whole. */
  migrated: boolean;
  /** The encoded size of `entries` when the store knew it and nothing was dropped or re-encoded; else null. */
  bytes: number | null;
}

/** The outcome of reading stored data: usable, or to be replaced by a fresh session (or thrown). */
export type HydrateResult =
  | ({ ok: true } & Hydrated)
  | { ok: false; reason: "corrupt" | "invalid"; error?: SessionValidationError };

/**
 * Decodes, migrates and validates stored data once per load (R39). Stored data is input
 * like any other: a bad entry is handled by `onInvalid`, never returned unvalidated.
 *
 * With `lazy` (a request's load), under `onInvalid: "drop"` with no migration to run, each entry
 * is decoded and validated only when first used (`readEntry`), so a request pays for the keys
 * it touches: "throw" and "reset" must judge every entry at load, and a migration needs them all.
 */
export function hydrate(
  runtime: SchemaRuntime,
  data: StoredData,
  storedVersion: number,
  nowMs: number,
  knownBytes?: number,
  lazy?: { reportInvalid: (keys: string[]) => void },
): HydrateResult {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return { ok: false, reason: "corrupt" };
  if (lazy !== undefined && runtime.onInvalid === "drop" && storedVersion >= runtime.version) {
    return hydrateLazily(runtime, data, nowMs, knownBytes, lazy.reportInvalid);
  }
  const decoded = new Map<string, unknown>();
  const entries = new Map<string, StoredEntry>();
  const dropped: string[] = [];
  const invalid: string[] = [];
  for (const key of Object.keys(data)) {
    const entry: unknown = data[key];
    if (!isStoredEntry(entry)) {
      invalid.push(key);
      continue;
    }
    if (key === EXPIRY_KEY) {
      entries.set(key, entry);
      continue;
    }
    if (entry.exp !== undefined && entry.exp <= nowMs) {
      dropped.push(key);
      continue;
    }
    try {
      decoded.set(key, decodeEntry(entry));
      entries.set(key, entry);
    } catch {
      invalid.push(key);
    }
  }

  let migrated = false;
  if (storedVersion < runtime.version) {
    const upgraded = migrate(runtime, decoded, storedVersion);
    if (upgraded instanceof MigrationFailure) return invalidResult(runtime, upgraded.issues, "migration failed");
    migrated = true;
    decoded.clear();
    for (const [key, value] of Object.entries(upgraded)) decoded.set(key, value);
  }

  const values = new Map<string, unknown>();
  for (const [key, value] of decoded) {
    const field = fieldOf(runtime, key);
    const result = field?.safeParse(value);
    if (result?.success) values.set(key, result.data);
    else {
      invalid.push(key);
      if (runtime.onInvalid === "throw") {
        return invalidResult(runtime, result ? toIssues(result.error.issues) : [], `"${key}" is not in the schema`, key);
      }
    }
  }
  if (invalid.length > 0 && runtime.onInvalid !== "drop")
    return invalidResult(runtime, [], "stored data is malformed", invalid[0]);

  if (migrated) {
    // Re-encode every kept value; per-key expiry and flash marks survive under the same key.
    const previous = new Map(entries);
    entries.clear();
    const expiry = previous.get(EXPIRY_KEY);
    if (expiry) entries.set(EXPIRY_KEY, expiry);
    for (const [key, value] of values) {
      const old = previous.get(key);
      const encoded = encodeValue(value, {
        ...(old?.exp === undefined ? {} : { exp: old.exp }),
        ...(old?.flash ? { flash: true as const } : {}),
      });
      if (encoded instanceof EncodeFailure) {
        values.delete(key);
        invalid.push(key);
      } else entries.set(key, encoded.entry);
    }
  } else {
    for (const key of invalid) entries.delete(key);
  }
  for (const key of invalid) if (!dropped.includes(key)) dropped.push(key);
  const bytes = knownBytes !== undefined && dropped.length === 0 && !migrated ? knownBytes : null;
  return { ok: true, values, entries, dropped, invalid, migrated, bytes, unread: new Set() };
}

/**
 * The lazy load: only what needs no decoding is judged now (the entry's shape, its own expiry,
 * whether the schema has the key); every other entry stays encoded, in `unread`. The result is
 * one literal: spreading it to add `reportInvalid` cost more than the decoding it saves.
 */
function hydrateLazily(
  runtime: SchemaRuntime,
  data: StoredData,
  nowMs: number,
  knownBytes: number | undefined,
  reportInvalid: (keys: string[]) => void,
): HydrateResult {
  const entries = new Map<string, StoredEntry>();
  const unread = new Set<string>();
  const dropped: string[] = [];
  const invalid: string[] = [];
  for (const key of Object.keys(data)) {
    const entry: unknown = data[key];
    if (!isStoredEntry(entry)) invalid.push(key);
    else if (key === EXPIRY_KEY) entries.set(key, entry);
    else if (entry.exp !== undefined && entry.exp <= nowMs) dropped.push(key);
    else if (fieldOf(runtime, key) === undefined) invalid.push(key);
    else {
      entries.set(key, entry);
      unread.add(key);
    }
  }
  for (const key of invalid) dropped.push(key);
  const bytes = knownBytes !== undefined && dropped.length === 0 ? knownBytes : null;
  return { ok: true, values: new Map(), entries, unread, dropped, invalid, migrated: false, bytes, reportInvalid };
}

/** What `readEntry` returns for an entry that does not decode or fails its field's schema. */
export const INVALID_ENTRY: unique symbol = Symbol("invalid entry");

/** Decodes and validates one stored entry of a schema key, as `hydrate` would have at load. */
export function readEntry(runtime: SchemaRuntime, key: string, entry: StoredEntry): unknown {
  let decoded: unknown;
  try {
    decoded = decodeEntry(entry);
  } catch {
    return INVALID_ENTRY;
  }
  const result = fieldOf(runtime, key)?.safeParse(decoded);
  return result?.success ? result.data : INVALID_ENTRY;
}

/** A migration step threw or returned a non-object; `issues` are Zod's when a typed step's parse failed. */
class MigrationFailure {
  constructor(readonly issues: ValidationIssue[] = []) {}
}

function migrate(
  runtime: SchemaRuntime,
  decoded: Map<string, unknown>,
  storedVersion: number,
): Record<string, unknown> | MigrationFailure {
  let data: Record<string, unknown> = Object.fromEntries(decoded);
  try {
    for (let v = storedVersion + 1; v <= runtime.version; v++) {
      const step = runtime.migrations[v];
      if (step) data = step(data);
      if (typeof data !== "object" || data === null) return new MigrationFailure();
    }
  } catch (error) {
    return new MigrationFailure(error instanceof SessionValidationError ? [...error.issues] : []);
  }
  return data;
}

function invalidResult(runtime: SchemaRuntime, issues: ValidationIssue[], message: string, key = "$data"): HydrateResult {
  if (runtime.onInvalid === "throw") {
    const error = new SessionValidationError(key, issues.length > 0 ? issues : [{ code: "custom", path: [], message }]);
    return { ok: false, reason: "invalid", error };
  }
  return { ok: false, reason: "invalid" };
}

function toIssues(issues: readonly z.core.$ZodIssue[]): ValidationIssue[] {
  return issues.map((issue) => ({ code: issue.code, path: issue.path, message: issue.message }));
}
