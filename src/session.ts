import { canonicalJson } from "./codec.js";
import type { SessionCookie } from "./cookie.js";
import { type Duration, durationArgument, LAST_INSTANT_MS } from "./duration.js";
import { SessionInterruptedError, SessionUsageError, SessionValidationError } from "./errors.js";
import type { ExpiryOverride } from "./expiry.js";
import { serializeExpiry } from "./expiry-entry.js";
import type { SessionContext } from "./persistence.js";
import {
  defaultOf,
  EXPIRY_KEY,
  type GetResult,
  type SessionData,
  type SessionInput,
  type SessionKey,
  type SessionSchema,
  type SessionValue,
} from "./schema.js";
import { type SessionInit, SessionState } from "./session-state.js";
import type { StoredEntry } from "./store.js";
import { sessionTag } from "./token.js";

/**
 * What the package's own adapters and manager do to a session that users do not: reached through
 * `adapter-kit.ts` (adapters) and the manager, never through the public `Session` type.
 */
export interface SessionInternals {
  /** `commit()`, with each cookie in parts as well as serialized. */
  commitCookies(session: Session<SessionSchema>): Promise<SessionCookie[]>;
  /** The response carrying the cookie has started: every later change throws `SessionUsageError` (R20). */
  lock(session: Session<SessionSchema>, reason: string): void;
  /** `commit()` now would write nothing and send no cookie, so a response need not wait for it. */
  isSettled(session: Session<SessionSchema>): boolean;
  /** The store id of the session's record, for `revoke({ except })`. */
  storeId(session: Session<SessionSchema>): string | null;
  /** Makes `view` (an adapter's proxy of `session`, as tRPC's per-procedure view) stand for it here. */
  alias(view: object, session: Session<SessionSchema>): void;
  /** The session was loaded from a cookie-cache snapshot the browser holds. */
  loadedFromSnapshot(session: Session<SessionSchema>): boolean;
  /** The cookie-cache snapshot cookie's name, or null without `cookieCache`. */
  snapshotCookie(session: Session<SessionSchema>): string | null;
  /** Loaded through a legacy cookie and not yet rotated (the claim is still to come). */
  legacyPending(session: Session<SessionSchema>): boolean;
  /** This response cannot deliver a new cookie: a pending legacy session is not claimed (docs/migrating.md). */
  holdLegacy(session: Session<SessionSchema>, why: "abandoned" | "no-cookies"): void;
  /** The session cookie's name. */
  cookieName(session: Session<SessionSchema>): string;
}

/** Set by `Session`'s static block, which alone can reach its private fields. */
export let sessionInternals: SessionInternals;

/** Options of `set`. */
export interface SetOptions {
  /** This key's own lifetime; after it the key reads as absent while the session lives on. */
  ttl?: Duration;
}

/**
 * One request's view of a session: typed from the schema, validated on write, and saved as
 * a patch of only the keys this request changed, so concurrent requests do not lose each
 * other's writes. Data lives in a private map, apart from the API, so no stored key can
 * shadow a method (R42). Where the record lives (a server-side store, or the cookie itself)
 * is the state's persistence's business, not this class's.
 */
export class Session<S extends SessionSchema> {
  readonly #state: SessionState;

  /** @internal Sessions come from `sessions.load()`; never construct one yourself. */
  constructor(ctx: SessionContext, init: SessionInit) {
    this.#state = new SessionState(ctx, init);
  }

  /**
   * The value of `key`; an absent key gives `fallback` when one is passed, else the schema default.
   * @example const cart = session.get("cart"); // typed from the schema, [] by default
   */
  get<K extends SessionKey<S>>(key: K): GetResult<S, K>;
  get<K extends SessionKey<S>, F>(key: K, fallback: F): SessionValue<S, K> | F;
  get(key: string, ...fallback: [unknown?]): unknown {
    const data = this.#state.data;
    if (data.live(key)) return data.value(key);
    return fallback.length > 0 ? fallback[0] : defaultOf(this.#state.ctx.runtime, key);
  }

  /**
   * Validates `value` with the field's schema and stores it; throws `SessionValidationError`
   * (or `SessionTooLargeError`) before anything changes.
   * @example session.set("otp", "123456", { ttl: "5m" });
   */
  set<K extends SessionKey<S>>(key: K, value: SessionInput<S, K>, options: SetOptions = {}): void {
    this.#assertOpen("set");
    this.#write(key, value, options.ttl, false);
  }

  /** Whether `key` holds a value (a schema default does not count; Django's `in`). */
  has(key: SessionKey<S>): boolean {
    return this.#state.data.live(key);
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: SessionKey<S>): boolean {
    this.#assertOpen("delete");
    const { data, record } = this.#state;
    const had = data.live(key);
    data.remove(key, record !== null);
    return had;
  }

  /** Removes `key` and returns what it held, else `fallback`, else the schema default. */
  pop<K extends SessionKey<S>>(key: K): GetResult<S, K>;
  pop<K extends SessionKey<S>, F>(key: K, fallback: F): SessionValue<S, K> | F;
  pop(key: SessionKey<S>, ...fallback: [unknown?]): unknown {
    const value = this.get(key, ...(fallback as [unknown]));
    this.delete(key);
    return value;
  }

  /** Removes every key and the session's own expiry; the next save replaces the whole record. */
  clear(): void {
    this.#assertOpen("clear");
    const { data } = this.#state;
    const expiry = data.entry(EXPIRY_KEY);
    data.clear();
    if (expiry === undefined) return;
    // Through a grace shadow the expiry is identity, as `setExpiry` is (B4): the data goes, it stays.
    if (this.#state.viaGrace) data.writeEntry(EXPIRY_KEY, expiry);
    else this.#state.policyMoved();
  }

  /** Returns the value of `key`, first setting it to `value` when absent. */
  setdefault<K extends SessionKey<S>>(key: K, value: SessionInput<S, K>): SessionValue<S, K> {
    this.#assertOpen("setdefault");
    if (!this.#state.data.live(key)) this.set(key, value);
    return this.#state.data.value(key) as SessionValue<S, K>;
  }

  /** Sets several keys at once; all are validated first, so a failure changes nothing. */
  update(partial: { [K in SessionKey<S>]?: SessionInput<S, K> }): void {
    this.#assertOpen("update");
    this.#state.data.writeAll(partial as Record<string, unknown>);
  }

  /** A frozen snapshot of the whole data, schema defaults applied. */
  all(): SessionData<S> {
    const snapshot: Record<string, unknown> = {};
    for (const key of Object.keys(this.#state.ctx.runtime.shape)) {
      const value = this.get(key as SessionKey<S>);
      if (value !== undefined || this.#state.data.live(key)) Object.defineProperty(snapshot, key, { value, enumerable: true });
    }
    return Object.freeze(snapshot) as SessionData<S>;
  }

  /** Stores a value that survives until `consumeFlash` reads it once (Rails/Remix flash). */
  flash<K extends SessionKey<S>>(key: K, value: SessionInput<S, K>): void {
    this.#assertOpen("flash");
    this.#write(key, value, undefined, true);
  }

  /** Returns a flashed value and removes it; undefined when `key` holds no flash. */
  consumeFlash<K extends SessionKey<S>>(key: K): SessionValue<S, K> | undefined {
    this.#assertOpen("consumeFlash");
    const { data } = this.#state;
    if (!data.live(key) || !data.entry(key)?.flash) return undefined;
    const value = data.value(key) as SessionValue<S, K>;
    this.delete(key);
    return value;
  }

  /**
   * Django's `set_expiry`: a `Date` (fixed instant), a duration (an idle period of its own),
   * `0` (a browser-session cookie; the server still applies `maxAge`), or `null` (back to the global policy).
   * @example session.setExpiry(rememberMe ? { days: 30 } : 0);
   */
  setExpiry(value: Date | Duration | 0 | null): void {
    this.#assertOpen("setExpiry");
    this.#assertOwnToken("setExpiry");
    let override: ExpiryOverride | null;
    if (value === null) override = null;
    else if (value === 0) override = { kind: "browser" };
    else if (value instanceof Date) {
      if (Number.isNaN(value.getTime())) {
        throw new SessionValidationError(EXPIRY_KEY, [{ code: "invalid_date", path: [], message: "Invalid Date" }]);
      }
      if (value.getTime() > LAST_INSTANT_MS) {
        throw new SessionValidationError(EXPIRY_KEY, [{ code: "too_big", path: [], message: "expiry is after year 9999" }]);
      }
      override = { kind: "at", atMs: value.getTime() };
    } else override = { kind: "idle", seconds: durationArgument(EXPIRY_KEY, value, this.#state.ctx.nowMs()) };
    this.#state.policyMoved();
    if (override === null) this.#state.data.remove(EXPIRY_KEY, this.#state.record !== null);
    else this.#state.data.writeEntry(EXPIRY_KEY, serializeExpiry(override));
  }

  /** When the session expires on the server, as of this request's save. */
  get expiresAt(): Date {
    return new Date(this.#state.nextExpiry(this.#state.ctx.nowMs()));
  }

  /** Seconds until `expiresAt`. */
  get expiryAge(): number {
    const now = this.#state.ctx.nowMs();
    return Math.max(0, Math.round((this.#state.nextExpiry(now) - now) / 1000));
  }

  /** No stored record stands behind this session (yet). */
  get isNew(): boolean {
    return this.#state.record === null;
  }

  /** This request changed the data (or its expiry) and a save would write. */
  get isModified(): boolean {
    return this.#state.data.isModified;
  }

  /** No key holds a value. */
  get isEmpty(): boolean {
    const { data } = this.#state;
    for (const key of data.keys()) if (data.live(key)) return false;
    return true;
  }

  /**
   * Django's `cycle_key`: the same data under a new token, the old token dead at once (or
   * after `rotationGrace`). Call it on login and on every privilege change.
   * @example await session.rotate(); session.set("userId", user.id);
   */
  async rotate(): Promise<void> {
    this.#assertOpen("rotate");
    this.#assertOwnToken("rotate");
    return this.#state.rotate();
  }

  /**
   * Django's `login()`: puts the user's identity `value` under `key` and rotates the token
   * (session fixation). When the session holds another identity under `key`, every key is
   * cleared first, so nothing of the previous user (a cart, a flash, a setting) carries over to
   * the next; an anonymous session keeps its data. `value` is validated before anything changes.
   * @example await session.login("userId", user.id);
   */
  async login<K extends SessionKey<S>>(key: K, value: SessionInput<S, K>): Promise<void> {
    this.#assertOpen("login");
    this.#assertOwnToken("login");
    const { data } = this.#state;
    // Key order does not count: Postgres' jsonb hands objects back with their keys reordered.
    const identity = (entry: StoredEntry | undefined) => canonicalJson([entry?.json, entry?.meta]);
    const before = data.live(key) ? identity(data.entry(key)) : null;
    this.#write(key, value, undefined, false);
    if (before !== null && before !== identity(data.entry(key))) {
      this.clear();
      this.#write(key, value, undefined, false);
    }
    await this.rotate();
  }

  /**
   * Drops the changes not yet saved, back to what the store holds: those of `keys`, or when
   * none are given every change (values, deletes, `clear()`, `setExpiry`). What already reached
   * the store stays (`save()`, `rotate()`, `destroy()`, and the cookie they need). Adapters call
   * it for a request that ends in an error; call it when a check fails after a write.
   * @example session.set("role", "admin"); if (!allowed) { session.discard(); throw new Forbidden(); }
   */
  discard(...keys: SessionKey<S>[]): void {
    this.#assertOpen("discard");
    if (keys.length > 0) {
      this.#state.data.discard(keys);
      return;
    }
    this.#state.data.discard();
    this.#state.policyChanged = false;
  }

  /**
   * Django's `flush`: deletes the stored record, clears the cookie, and continues as a fresh
   * empty session with a new token.
   */
  async destroy(): Promise<void> {
    this.#assertOpen("destroy");
    this.#assertOwnToken("destroy");
    return this.#state.destroy();
  }

  /**
   * Persists what changed: a new session's first write inserts, later ones send a patch
   * of the changed keys; an unchanged session costs at most a throttled expiry touch.
   * Throws `SessionInterruptedError` when the record vanished meanwhile.
   */
  async save(): Promise<void> {
    await this.#state.save();
  }

  /**
   * `save()`, then the Set-Cookie header values to send (none when the cookie need not change).
   * @example for (const value of await session.commit()) headers.append("Set-Cookie", value);
   */
  async commit(): Promise<string[]> {
    return (await this.#state.commit()).map((cookie) => cookie.header);
  }

  /**
   * A one-way tag of this session (as in `onEvent` and `findMany`), or null before it is stored.
   * @example const devices = (await sessions.findMany({ where: { userId } })).map((d) => ({ ...d, current: d.tag === session.tag }));
   */
  get tag(): string | null {
    const { record } = this.#state;
    return record === null ? null : sessionTag(record.id);
  }

  static {
    // A proxy of a session (tRPC's per-procedure view) has no private fields of its own: it
    // reaches them through the session it was registered for.
    const aliases = new WeakMap<object, Session<SessionSchema>>();
    const stateOf = (session: object): SessionState => {
      const target =
        typeof session !== "object" || session === null ? undefined : #state in session ? session : aliases.get(session);
      if (target === undefined) throw new SessionUsageError("expected a session from sessions.load()");
      return target.#state;
    };
    sessionInternals = {
      commitCookies: (session) => stateOf(session).commit(),
      lock: (session, reason) => {
        stateOf(session).lockedBecause = reason;
      },
      isSettled: (session) => stateOf(session).isSettled(),
      storeId: (session) => stateOf(session).record?.id ?? null,
      loadedFromSnapshot: (session) => stateOf(session).loadedFromSnapshot,
      snapshotCookie: (session) => stateOf(session).ctx.cookieCache?.name ?? null,
      alias: (view, session) => {
        aliases.set(view, session);
      },
      legacyPending: (session) => stateOf(session).legacyPending,
      holdLegacy: (session, why) => {
        stateOf(session).legacyHeld = why;
      },
      cookieName: (session) => stateOf(session).ctx.cookie.name,
    };
  }

  #write(key: string, value: unknown, ttl: Duration | undefined, flash: boolean): void {
    const nowMs = this.#state.ctx.nowMs();
    const ttlSeconds = ttl === undefined ? undefined : durationArgument(key, ttl, nowMs);
    this.#state.data.write(key, value, {
      ...(ttlSeconds === undefined ? {} : { exp: nowMs + ttlSeconds * 1000 }),
      ...(flash ? { flash: true as const } : {}),
    });
  }

  #assertOpen(method: string): void {
    const reason = this.#state.lockedBecause;
    if (reason !== null) throw new SessionUsageError(`session.${method}() ${reason}`);
  }

  /**
   * B4: the old token reaches a rotated session during `rotationGrace` only so that requests in
   * flight are not logged out. Whoever holds it (possibly an attacker who planted it before the
   * victim's login) must not mint a token for the victim's session, kill it or stretch it, so
   * identity changes through a grace shadow are refused; nothing is written and no cookie is sent.
   */
  #assertOwnToken(method: string): void {
    if (!this.#state.viaGrace) return;
    throw new SessionInterruptedError(
      `session.${method}() refused: this request reached the session through its token from before a rotation`,
    );
  }
}
