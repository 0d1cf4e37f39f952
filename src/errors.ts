/**
 * Every error Tessera throws. Each class carries a literal `code`, so callers switch on
 * `error.code` (or `instanceof`) rather than on message text. Messages never contain
 * tokens, cookie values or hashes.
 */

/** Every `code` a `TesseraError` can carry. */
export type ErrorCode =
  | "SESSION_VALIDATION"
  | "SESSION_TOO_LARGE"
  | "STORE_UNAVAILABLE"
  | "SESSION_INTERRUPTED"
  | "SESSION_CORRUPT"
  | "CROSS_SITE_REQUEST"
  | "SESSION_USAGE"
  | "CONFIG";

const brand = Symbol.for("tessera.error");

/** Base class of every error Tessera throws. */
export abstract class TesseraError extends Error {
  abstract readonly code: ErrorCode;
  readonly [brand] = true;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * True for any Tessera error, even one thrown by another copy of the package (where
 * `instanceof` would fail).
 * @example if (isTesseraError(e) && e.code === "STORE_UNAVAILABLE") return new Response(null, { status: 503 });
 */
export function isTesseraError(error: unknown): error is TesseraError {
  return typeof error === "object" && error !== null && (error as { [brand]?: unknown })[brand] === true;
}

/** One problem found by the schema, as Zod reports it. */
export interface ValidationIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** A value given to `set`/`update`/`setdefault` (or loaded, with `onInvalid: "throw"`) fails the schema. */
export class SessionValidationError extends TesseraError {
  readonly code = "SESSION_VALIDATION";
  /** The session key whose value failed. */
  readonly key: string;
  /** Zod's issues, paths relative to the session key. */
  readonly issues: readonly ValidationIssue[];

  constructor(key: string, issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    super(`Session key "${key}" failed validation: ${issues.map((i) => i.message).join("; ")}`, options);
    this.key = key;
    this.issues = issues;
  }
}

/** The encoded session would exceed `maxBytes` (or a cookie the 4096-byte browser limit). */
export class SessionTooLargeError extends TesseraError {
  readonly code = "SESSION_TOO_LARGE";
  readonly bytes: number;
  readonly maxBytes: number;

  constructor(bytes: number, maxBytes: number) {
    super(`Session data is ${bytes} bytes, over the limit of ${maxBytes}`);
    this.bytes = bytes;
    this.maxBytes = maxBytes;
  }
}

/** The store failed or did not answer within the timeout. `cause` holds the driver's error. */
export class SessionStoreError extends TesseraError {
  readonly code = "STORE_UNAVAILABLE";
}

/**
 * A store refused a write that reached it after its deadline (`SessionPatch.notAfter`) while a
 * newer write was already in the record; nothing was written. Arriving while the caller still
 * waits, it means the writers' clocks disagree by more than `storeTimeout`, and the session
 * retries the write without the deadline.
 */
export class SessionLateWriteError extends SessionStoreError {
  /** @param store the refusing store's name, for the message */
  constructor(store: string) {
    super(`${store}: a write arrived after its deadline, past a newer write; nothing written`);
  }
}

/**
 * @internal For stores that check in code (memory, file): throws `SessionLateWriteError` when the
 * record holds a write stamped after this write's deadline (`SessionPatch.notAfter`).
 */
export function refuseLateWrite(store: string, updatedAt: Date, notAfter: Date | undefined): void {
  if (notAfter !== undefined && updatedAt.getTime() > notAfter.getTime()) throw new SessionLateWriteError(store);
}

/**
 * The session was destroyed, revoked or expired by someone else while this request held
 * it; the save wrote nothing and did not bring it back (Django's `SessionInterrupted`).
 */
export class SessionInterruptedError extends TesseraError {
  readonly code = "SESSION_INTERRUPTED";
}

/**
 * A store found a record it cannot read (garbage in a metadata field, a torn file): a data
 * problem, never an outage. Stores throw it from `get`; the manager reports `corrupt` to
 * `onEvent`, deletes the record and starts a fresh session, so `load` never throws it.
 */
export class SessionCorruptError extends TesseraError {
  readonly code = "SESSION_CORRUPT";
}

/**
 * A state-changing request came from another site (its `Sec-Fetch-Site` or `Origin` says so,
 * see `crossSiteCheck`). Adapters answer it with a 403 before loading the session: nothing is
 * read, written or sent as a cookie.
 */
export class CrossSiteRequestError extends TesseraError {
  readonly code = "CROSS_SITE_REQUEST";

  constructor(message = "Cross-site request refused: its Origin or Sec-Fetch-Site is not this site") {
    super(message);
  }
}

/**
 * A call the request path cannot honour, a programming error found at request time rather than
 * at start-up: a write to a session that is locked (a Server Component, a response whose
 * headers are already sent, after the adapter committed), a `where` that names no field (it
 * would match every session), a `where` on a field the store cannot search. Adapters do not
 * answer it (`sessionErrorAnswer` returns null): it takes the framework's error path, a 500.
 */
export class SessionUsageError extends TesseraError {
  readonly code = "SESSION_USAGE";
}

/** Bad options, thrown at start-up by `defineSession` and the store factories. */
export class SessionConfigError extends TesseraError {
  readonly code = "CONFIG";
}
