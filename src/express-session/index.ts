export { type ExpressSessionCookieOptions, expressSessionCookie } from "./cookie.js";
export {
  type ImportMapper,
  type ImportOptions,
  type ImportProgress,
  type ImportRejection,
  type ImportResult,
  importSessions,
  type LegacySessionData,
  type RejectReason,
} from "./import.js";
export {
  type ConnectPgSimpleSourceOptions,
  type ConnectRedisSourceOptions,
  connectPgSimpleSource,
  connectRedisSource,
  type LegacyQuery,
  type LegacyRecord,
  type LegacyRedisClient,
  type LegacySource,
} from "./sources.js";
