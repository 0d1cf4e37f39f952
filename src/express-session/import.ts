import type { LegacySessionImport, SessionManager, SessionSchema } from "../index.js";
import { isTesseraError, SessionTooLargeError, SessionUsageError, SessionValidationError } from "../index.js";
import type { LegacyRecord, LegacySource } from "./sources.js";

/** A legacy session's data as express-session stored it, its `cookie` object removed. */
export type LegacySessionData = { readonly [key: string]: unknown };

/**
 * Reshapes one legacy session into this schema's keys (`req.session.user.id` → `userId`); the
 * result is validated by the schema. Return null (or undefined) to leave a session out.
 * Export it from the `--config` module as `importSession`.
 * @example export const importSession: ImportMapper<typeof schema> = (legacy) => ({ userId: (legacy.user as { id?: string } | undefined)?.id });
 */
export type ImportMapper<S extends SessionSchema> = (
  legacy: LegacySessionData,
  context: { sid: string },
) => LegacySessionImport<S>["data"] | null | undefined;

/** Why a legacy session was not imported. */
export type RejectReason =
  | "not-a-string"
  | "too-large"
  | "not-json"
  | "not-an-object"
  | "expired"
  | "map-failed"
  | "schema"
  | "data-too-large";

/**
 * One line of the report. Never the session id nor any data: `sid` is the id's first characters
 * (at most 8, at most a quarter of it), enough to find the row (`SCAN MATCH sess:<sid>*`,
 * `where sid like '<sid>%'`), too few to stand for it; schema problems give the key and Zod's
 * issue codes and paths, not the values.
 */
export interface ImportRejection {
  sid: string;
  reason: RejectReason;
  /** The session key whose value failed the schema. */
  key?: string;
  issues?: { code: string; path: (string | number)[] }[];
  /** The size that was over a limit, in bytes. */
  bytes?: number;
  /** For `map-failed`: the error the mapper threw, its first 200 characters. */
  message?: string;
}

/** Running totals, as `onProgress` receives them and `importSessions` returns them. */
export interface ImportProgress {
  /** Legacy records read. */
  read: number;
  /** Written (or, with `dryRun`, that would be). */
  imported: number;
  /** Already in the store (an earlier run, or its legacy cookie already used): left as they are. */
  existing: number;
  /** No data once the `cookie` object was removed (or the mapper returned null): nothing to import. */
  empty: number;
  rejected: number;
}

/** What `importSessions` returns. */
export interface ImportResult extends ImportProgress {
  /** Rejections per reason. */
  reasons: Partial<Record<RejectReason, number>>;
  dryRun: boolean;
  /** Wall time, in seconds. */
  seconds: number;
}

/** Options of `importSessions`. */
export interface ImportOptions<S extends SessionSchema> {
  /** Reshapes each legacy session. @default the legacy data as it is (its keys must be the schema's) */
  map?: ImportMapper<S>;
  /** Validate and report, write nothing. @default false */
  dryRun?: boolean;
  /** Sessions written at once. @default 16 */
  concurrency?: number;
  /** After each batch. */
  onProgress?: (progress: ImportProgress) => void;
  /** Each rejected session, for the report. */
  onReject?: (rejection: ImportRejection) => void;
  /** The clock, in epoch ms. @default Date.now */
  now?: () => number;
}

/**
 * Imports express-session's sessions from `source` into `sessions`' store, each validated by its
 * schema (through `sessions.importLegacy`, the one way in) and stored under an id derived from its
 * legacy id, where only its signed legacy cookie leads (`defineSession({ legacy })`), once.
 * Sessions that fail (unreadable, not JSON, expired, invalid, too large) go to `onReject`, not to
 * the store; sessions already there are left alone, so a second run imports only what is new. A
 * store failure stops the run (it throws): rerun it, nothing is imported twice.
 * @example
 * const result = await importSessions(sessions, connectRedisSource({ redis }), { map: importSession });
 */
export async function importSessions<S extends SessionSchema>(
  sessions: SessionManager<S>,
  source: LegacySource,
  options: ImportOptions<S> = {},
): Promise<ImportResult> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const dryRun = options.dryRun ?? false;
  const concurrency = options.concurrency ?? 16;
  // 0, a negative number or NaN would start no worker: nothing imported, reported as success.
  if (!Number.isInteger(concurrency) || concurrency <= 0) {
    throw new SessionUsageError("importSessions: concurrency must be a positive integer");
  }
  const totals: ImportProgress = { read: 0, imported: 0, existing: 0, empty: 0, rejected: 0 };
  const reasons: Partial<Record<RejectReason, number>> = {};
  const reject = (record: LegacyRecord, reason: RejectReason, extra: Omit<ImportRejection, "sid" | "reason"> = {}) => {
    totals.rejected++;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    options.onReject?.({ sid: sidPrefix(record.sid), reason, ...extra });
  };

  async function one(record: LegacyRecord): Promise<void> {
    totals.read++;
    if (record.json === null) return reject(record, record.problem ?? "not-a-string");
    if (record.expiresAt !== null && record.expiresAt.getTime() <= now()) return reject(record, "expired");
    let parsed: unknown;
    try {
      parsed = JSON.parse(record.json);
    } catch {
      return reject(record, "not-json");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return reject(record, "not-an-object");
    const { cookie, ...legacy } = parsed as Record<string, unknown>;
    const expiresAt = record.expiresAt ?? cookieExpiry(cookie);
    if (expiresAt !== null && expiresAt.getTime() <= now()) return reject(record, "expired");
    let data: unknown;
    try {
      data = options.map === undefined ? legacy : options.map(legacy, { sid: record.sid });
    } catch (error) {
      return reject(record, "map-failed", { message: String(error instanceof Error ? error.message : error).slice(0, 200) });
    }
    if (data === null || data === undefined) {
      totals.empty++;
      return;
    }
    if (typeof data !== "object" || Array.isArray(data)) {
      return reject(record, "map-failed", { message: "the mapper returned something other than an object" });
    }
    try {
      const outcome = await sessions.importLegacy(
        { sid: record.sid, data: data as LegacySessionImport<S>["data"], expiresAt },
        { dryRun },
      );
      if (outcome === "created") totals.imported++;
      else if (outcome === "exists") totals.existing++;
      else if (outcome === "empty") totals.empty++;
      else reject(record, "expired");
    } catch (error) {
      if (error instanceof SessionValidationError || (isTesseraError(error) && error.code === "SESSION_VALIDATION")) {
        const { key, issues } = error as SessionValidationError;
        return reject(record, "schema", {
          key,
          issues: issues.map((issue) => ({
            code: issue.code,
            path: issue.path.map((part) => (typeof part === "number" ? part : String(part))),
          })),
        });
      }
      if (error instanceof SessionTooLargeError || (isTesseraError(error) && error.code === "SESSION_TOO_LARGE")) {
        return reject(record, "data-too-large", { bytes: (error as SessionTooLargeError).bytes });
      }
      throw error;
    }
  }

  for await (const batch of source.batches()) {
    let next = 0;
    const worker = async () => {
      while (next < batch.length) await one(batch[next++] as LegacyRecord);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, batch.length) }, worker));
    options.onProgress?.({ ...totals });
  }
  return { ...totals, reasons, dryRun, seconds: (performance.now() - started) / 1000 };
}

/** express-session's `cookie.expires` (an ISO date once stored), or null: a browser-session cookie. */
function cookieExpiry(cookie: unknown): Date | null {
  const expires = (cookie as { expires?: unknown } | null | undefined)?.expires;
  if (typeof expires !== "string" && typeof expires !== "number") return null;
  const date = new Date(expires);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** At most 8 characters and at most a quarter of the id: enough to find it, too little to be it. */
export function sidPrefix(sid: string): string {
  return Array.from(sid)
    .slice(0, Math.min(8, Math.floor(sid.length / 4)))
    .join("");
}
