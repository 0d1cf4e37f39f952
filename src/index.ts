export type { CookieOptions } from "./cookie.js";
export type { CookieCacheOptions } from "./cookie-cache.js";
export {
  type CsrfHeaders,
  type CsrfOption,
  type CsrfOptions,
  type CsrfRequest,
  crossSiteCheck,
  crossSiteRequest,
} from "./csrf.js";
export { defineSession, type SessionOptions } from "./define.js";
export type { Duration } from "./duration.js";
export {
  CrossSiteRequestError,
  type ErrorCode,
  isTesseraError,
  SessionConfigError,
  SessionCorruptError,
  SessionInterruptedError,
  SessionLateWriteError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
  SessionValidationError,
  TesseraError,
  type ValidationIssue,
} from "./errors.js";
export type { EventHandler, SessionEvent } from "./events.js";
export type { LegacyCookie } from "./legacy.js";
export type { LegacySessionImport, SessionInfo, SessionManager } from "./manager.js";
export { type MigrationChain, type MigrationStep, type MigrationTarget, migrationsFrom } from "./migrations.js";
export {
  type OperatorData,
  type OperatorOptions,
  type OperatorSession,
  type OperatorWhere,
  openOperator,
  type SessionOperator,
  type SessionWhere,
} from "./operator.js";
export {
  SESSION_CACHE_CONTROL,
  type SessionErrorAnswer,
  type SessionErrorStatus,
  sessionErrorAnswer,
  sessionErrorResponse,
  withSessionHeaders,
} from "./response-headers.js";
export type {
  DefaultedKey,
  GetResult,
  Migration,
  OnInvalid,
  SessionData,
  SessionInput,
  SessionKey,
  SessionSchema,
  SessionValue,
} from "./schema.js";
export type { Session, SetOptions } from "./session.js";
export type { CookieJar, SessionSource } from "./source.js";
export type {
  JsonValue,
  SessionCache,
  SessionPatch,
  SessionStore,
  StoredData,
  StoredEntry,
  StoredSession,
  StoreStats,
  Where,
} from "./store.js";
