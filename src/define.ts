import { type CookieOptions, resolveCookie } from "./cookie.js";
import { type CookieCache, type CookieCacheOptions, resolveCookieCache } from "./cookie-cache.js";
import { type Duration, toSeconds } from "./duration.js";
import { SessionConfigError } from "./errors.js";
import type { EventHandler, SessionEvent } from "./events.js";
import type { ExpiryPolicy } from "./expiry.js";
import { type LegacyCookie, resolveLegacy } from "./legacy.js";
import { createManager, type SessionManager } from "./manager.js";
import { type MigrationChain, resolveMigrations } from "./migrations.js";
import type { Persistence, SessionContext } from "./persistence.js";
import { type Migration, type OnInvalid, resolveSchema, type SessionSchema } from "./schema.js";
import { serverRecord } from "./server-record.js";
import type { CookieSessionStore, SessionCache, SessionStore } from "./store.js";
import { sealedCookie } from "./stores/cookie/sealed-cookie.js";
import { sessionTag } from "./token.js";

/** Options of `defineSession`. Every duration is seconds, `"30m"`-style text or `{ days, hours, minutes, seconds }`. */
export interface SessionOptions<S extends SessionSchema> {
  /** The session contents as a Zod object schema; types and validation both come from it. */
  schema: S;
  /** Where sessions live: `drizzleStore`, `redisStore`, `fileStore`, `memoryStore`, or `cookieStore` (in the cookie itself). */
  store: SessionStore | CookieSessionStore;
  /**
   * A cache in front of the store (Django's `cached_db`), e.g. `redisCache({ redis })`: reads
   * hit it first, writes go to the store and then to it; when it fails, requests are served by
   * the store and `onEvent` gets one `cache-down` (and `cache-up` on recovery). @default undefined
   */
  cache?: SessionCache;
  /** Upper bound on each cache call; a slower cache counts as down. @default 0.25 (250 ms) */
  cacheTimeout?: Duration;
  /**
   * Opt-in: a short-lived sealed snapshot of the session rides in a second cookie (the session
   * cookie's name + `.cache`), so a request within its window loads the session with no store
   * round trip (better-auth's `cookieCache`). A session revoked or destroyed elsewhere is seen as
   * gone by every request that starts `maxAge` after that, not sooner; writes still go to the
   * store. Server-side stores only. @default undefined (off)
   * @example cookieCache: { maxAge: "30s", secrets: process.env.SESSION_CACHE_SECRET! }
   */
  cookieCache?: CookieCacheOptions;
  /** Cookie attributes. @default { name: "__Host-sid" (with secure, path "/" and no domain; else "sid"), secure: true, httpOnly: true, sameSite: "lax", path: "/" } */
  cookie?: CookieOptions;
  /** Idle lifetime (Django's `SESSION_COOKIE_AGE`). @default "14d" (1209600 s) */
  maxAge?: Duration;
  /** Push the expiry out by `maxAge` on every use, not only on writes. @default true */
  rolling?: boolean;
  /** With `rolling`, refresh the expiry of an unchanged session at most once per this interval (one write, one Set-Cookie). @default "5m" */
  touchAfter?: Duration;
  /** Hard cap from creation, whatever the activity (OWASP absolute timeout). @default undefined (none) */
  absoluteMaxAge?: Duration;
  /** After `rotate()`, the old token keeps reaching the rotated session this long (for requests already in flight). @default 0 (off) */
  rotationGrace?: Duration;
  /** Largest encoded session data, in bytes; `set` throws `SessionTooLargeError` past it. @default 65536, or 4096 with a cookie store */
  maxBytes?: number;
  /** Upper bound on every store call, after which it fails with `SessionStoreError`. @default "5s" */
  storeTimeout?: Duration;
  /** Version of the schema; data stored under an older one is upgraded by `migrations` on load. @default 1, or the last version of a `migrationsFrom` chain */
  version?: number;
  /**
   * `migrations[n]` upgrades data of version `n - 1` to `n`, untyped; or a typed history,
   * `migrationsFrom(v1).to(v2).via(step).to(schema).via(step)`, whose every step is typed from the
   * schemas and checked by them at load. @default {}
   */
  migrations?: Record<number, Migration> | NoInfer<MigrationChain<S>>;
  /** What a load does with stored data that still fails the schema. @default "drop" */
  onInvalid?: OnInvalid;
  /**
   * The cookie of the library the app comes from, accepted once: a request without a session
   * cookie whose legacy cookie verifies gets the session `tesserae import` stored for it, rotated
   * to a Tessera token at its commit (docs/migrating.md). Server-side stores only. @default undefined
   * @example legacy: expressSessionCookie({ secrets: [process.env.OLD_SESSION_SECRET!] })
   */
  legacy?: LegacyCookie;
  /** Receives security events with a one-way session tag, never a token. @default undefined */
  onEvent?: EventHandler;
  /** The clock every expiry is decided by, in epoch ms (tests inject one). @default Date.now */
  now?: () => number;
}

/**
 * Declares the session: its schema, store, cookie and expiry policy. Validates every option
 * now and throws `SessionConfigError`, so a misconfiguration fails at start-up, not on the first request.
 * @example
 * export const sessions = defineSession({
 *   schema: z.object({ userId: z.string().optional(), theme: z.enum(["light", "dark"]).default("light") }),
 *   store: drizzleStore({ db }),
 * });
 */
export function defineSession<S extends SessionSchema>(options: SessionOptions<S>): SessionManager<S> {
  if (typeof options !== "object" || options === null) throw new SessionConfigError("defineSession needs an options object");
  const maxAgeSeconds = toSeconds(options.maxAge ?? "14d", "maxAge");
  if (maxAgeSeconds <= 0) throw new SessionConfigError("maxAge must be positive");
  const absolute = options.absoluteMaxAge === undefined ? null : toSeconds(options.absoluteMaxAge, "absoluteMaxAge");
  if (absolute !== null && absolute <= 0) throw new SessionConfigError("absoluteMaxAge must be positive");
  const policy: ExpiryPolicy = {
    maxAgeSeconds,
    rolling: options.rolling ?? true,
    touchAfterSeconds: toSeconds(options.touchAfter ?? "5m", "touchAfter"),
    absoluteMaxAgeSeconds: absolute,
  };
  const now = options.now ?? Date.now;
  const nowMs = () => now();
  const onEvent = options.onEvent;
  const emit: SessionContext["emit"] = (type, id, extra) => {
    if (onEvent) emitEvent(onEvent, { type, ...extra }, id);
  };
  const cookie = resolveCookie(options.cookie);
  const persistence = persistenceOf(options, cookie.name, emit, nowMs);
  const maxBytes = options.maxBytes ?? persistence.defaultMaxBytes;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new SessionConfigError("maxBytes must be a positive integer");
  const versioning = resolveMigrations(options.schema, options.version, options.migrations);
  const runtime = resolveSchema(options.schema, versioning.version, versioning.migrations, options.onInvalid ?? "drop");
  const cookieCache: CookieCache | undefined =
    options.cookieCache === undefined ? undefined : resolveCookieCache(options.cookieCache, cookie, versioning.version);
  const legacy = resolveLegacy(options.legacy, cookie.name);
  if (legacy !== undefined && persistence.openLegacy === undefined) {
    throw new SessionConfigError("legacy needs a server-side store: there is nowhere to import the legacy sessions into");
  }
  const ctx: SessionContext = { runtime, persistence, cookie, policy, nowMs, maxBytes, cookieCache, legacy, emit };
  const operator = persistence.operator<S>({ runtime, emit: (type, extra) => emit(type, null, extra), nowMs });
  return createManager<S>(ctx, operator);
}

/**
 * The one place that asks which kind of store the app passed: a cookie store keeps each record
 * sealed in its cookie, any other store keeps records server-side behind a token.
 */
function persistenceOf<S extends SessionSchema>(
  options: SessionOptions<S>,
  cookieName: string,
  emit: SessionContext["emit"],
  nowMs: () => number,
): Persistence {
  // Every option is checked whichever store it applies to: a typo fails at start-up either way.
  const storeTimeoutMs = toSeconds(options.storeTimeout ?? "5s", "storeTimeout") * 1000;
  if (storeTimeoutMs <= 0) throw new SessionConfigError("storeTimeout must be positive");
  const cacheTimeoutMs = toSeconds(options.cacheTimeout ?? 0.25, "cacheTimeout") * 1000;
  const rotationGraceSeconds = toSeconds(options.rotationGrace ?? 0, "rotationGrace");
  const { store, cache } = options as { store: unknown; cache: unknown };
  if (cache !== undefined && (typeof cache !== "object" || cache === null || typeof (cache as SessionCache).put !== "function")) {
    throw new SessionConfigError("cache must be a session cache such as redisCache({ redis })");
  }
  const sessionCache = cache as SessionCache | undefined;
  if (isCookieStore(store)) {
    if (options.cookieCache !== undefined) {
      throw new SessionConfigError("cookieCache needs a server-side store: a cookie store's session is already in its cookie");
    }
    return sealedCookie(store, { cache: sessionCache, cookieName, emit, nowMs });
  }
  if (!isServerStore(store)) {
    throw new SessionConfigError("store must be a session store such as drizzleStore({ db }) or memoryStore()");
  }
  return serverRecord(store, { cache: sessionCache, cacheTimeoutMs, storeTimeoutMs, rotationGraceSeconds, emit, nowMs });
}

function emitEvent(handler: EventHandler, event: SessionEvent, id: string | null): void {
  try {
    handler(id === null ? event : { ...event, tag: sessionTag(id) });
  } catch {
    // A logging hook must never break a request.
  }
}

function isCookieStore(store: unknown): store is CookieSessionStore {
  const candidate = store as Partial<CookieSessionStore> | null;
  return (
    typeof candidate === "object" && candidate !== null && candidate.kind === "cookie" && typeof candidate.open === "function"
  );
}

function isServerStore(store: unknown): store is SessionStore {
  return typeof store === "object" && store !== null && typeof (store as Partial<SessionStore>).get === "function";
}
