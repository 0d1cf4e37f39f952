import {
  clearingCookie,
  MAX_COOKIE_BYTES,
  type ResolvedCookie,
  type SessionCookie,
  sessionCookie,
  sessionCookieBytesBound,
} from "./cookie.js";
import { type Duration, LAST_INSTANT_MS, MAX_DURATION_SECONDS, toSeconds } from "./duration.js";
import {
  isTesseraError,
  SessionInterruptedError,
  SessionTooLargeError,
  SessionUsageError,
  SessionValidationError,
} from "./errors.js";
import type { SessionEvent } from "./events.js";
import { absoluteExpiry, cookieMaxAge, type ExpiryOverride, type ExpiryPolicy, expiryAt, isTouchDue } from "./expiry.js";
import { parseExpiry, serializeExpiry } from "./expiry-entry.js";
import {
  defaultOf,
  EXPIRY_KEY,
  type GetResult,
  type Hydrated,
  type SchemaRuntime,
  type SessionData,
  type SessionInput,
  type SessionKey,
  type SessionSchema,
  type SessionValue,
} from "./schema.js";
import { type PendingChanges as ContentChanges, SessionContents } from "./session-contents.js";
import type { CookieSessionStore, SessionStore, StoredData, StoredEntry, StoredSession } from "./store.js";
import { createToken, hashToken, sessionTag } from "./token.js";
import { utf8Length } from "./utf8.js";

/** Stands for a new session's id in a size check: every id is 64 hex digits. */
const PLACEHOLDER_ID = "0".repeat(64);

/** What a save sent: the contents' changes and the expiry policy's change count. */
type PendingChanges = ContentChanges & { readonly policyChanges: number };

/** What a session needs from its manager; built once by `defineSession`. */
export interface SessionContext {
  runtime: SchemaRuntime;
  /** Already bounded by the store timeout and mapped to `SessionStoreError`. */
  store: SessionStore;
  /** Set when the store keeps the record in the cookie itself; `store` then holds nothing. */
  sealer: CookieSessionStore | null;
  cookie: ResolvedCookie;
  policy: ExpiryPolicy;
  nowMs(): number;
  maxBytes: number;
  /** The bound on every store call (`storeTimeout`), in ms. */
  storeTimeoutMs: number;
  rotationGraceSeconds: number;
  emit(type: SessionEvent["type"], id: string | null, extra?: Omit<SessionEvent, "type" | "tag">): void;
}

/** How a session starts: fresh, or from a stored record. */
export interface SessionInit {
  /** The cookie's token when it named this record; null for a fresh session or one reached through a rotation grace. */
  token: string | null;
  record: StoredSession | null;
  hydrated: Hydrated | null;
  /** The request carried a session cookie, so a fresh session must clear it once destroyed. */
  hadCookie: boolean;
  /** Cookie stores: a previous secret verified the cookie, so the next save seals it anew. */
  resign?: boolean;
  /** Reached through the old token of a session rotated within `rotationGrace` (a grace shadow). */
  viaGrace?: boolean;
}

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
}

/** Set by `Session`'s static block, which alone can reach its private fields. */
// biome-ignore lint/style/useConst: assigned in the class's static block below
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
 * shadow a method (R42).
 */
export class Session<S extends SessionSchema> {
  readonly #ctx: SessionContext;
  readonly #data: SessionContents;
  #token: string | null;
  #id: string | null;
  #record: StoredSession | null;
  /** `setExpiry` (or a `clear()` that dropped its override) changed the cookie's lifetime: the next save re-sends it. */
  #policyChanged = false;
  /** Counts `#policyChanged` being set, so a save in flight does not clear a later one. */
  #policyChanges = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #cookie: "set" | "clear" | null = null;
  #hadCookie: boolean;
  /** Cookie stores: the cookie must be sealed again (previous secret, or rotated) even if nothing changed. */
  #reseal: boolean;
  /** Set by an adapter once the response carrying the cookie has started: changes are refused (R20). */
  #lockedBecause: string | null = null;
  /** Reached through a grace shadow: identity changes are refused (B4), data writes go to the rotated record. */
  readonly #viaGrace: boolean;

  /** @internal Sessions come from `sessions.load()`; never construct one yourself. */
  constructor(ctx: SessionContext, init: SessionInit) {
    this.#ctx = ctx;
    this.#token = init.token;
    this.#record = init.record;
    this.#id = init.record?.id ?? null;
    const measure = ctx.store.entryBytes?.bind(ctx.store);
    const sealer = ctx.sealer;
    const fits = sealer === null ? undefined : (data: StoredData) => this.#checkSealedFits(sealer, data);
    this.#data = new SessionContents(ctx.runtime, ctx.nowMs, ctx.maxBytes, init.hydrated, measure, fits);
    this.#hadCookie = init.hadCookie;
    this.#reseal = init.resign ?? false;
    this.#viaGrace = init.viaGrace ?? false;
  }

  /**
   * The value of `key`; an absent key gives `fallback` when one is passed, else the schema default.
   * @example const cart = session.get("cart"); // typed from the schema, [] by default
   */
  get<K extends SessionKey<S>>(key: K): GetResult<S, K>;
  get<K extends SessionKey<S>, F>(key: K, fallback: F): SessionValue<S, K> | F;
  get(key: string, ...fallback: [unknown?]): unknown {
    if (this.#data.live(key)) return this.#data.value(key);
    return fallback.length > 0 ? fallback[0] : defaultOf(this.#ctx.runtime, key);
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
    return this.#data.live(key);
  }

  /** Removes `key`; returns whether it was there. */
  delete(key: SessionKey<S>): boolean {
    this.#assertOpen("delete");
    const had = this.#data.live(key);
    this.#data.remove(key, this.#record !== null);
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
    const expiry = this.#data.entry(EXPIRY_KEY);
    this.#data.clear();
    if (expiry === undefined) return;
    // Through a grace shadow the expiry is identity, as `setExpiry` is (B4): the data goes, it stays.
    if (this.#viaGrace) this.#data.writeEntry(EXPIRY_KEY, expiry);
    else this.#policyMoved();
  }

  /** Returns the value of `key`, first setting it to `value` when absent. */
  setdefault<K extends SessionKey<S>>(key: K, value: SessionInput<S, K>): SessionValue<S, K> {
    this.#assertOpen("setdefault");
    if (!this.#data.live(key)) this.set(key, value);
    return this.#data.value(key) as SessionValue<S, K>;
  }

  /** Sets several keys at once; all are validated first, so a failure changes nothing. */
  update(partial: { [K in SessionKey<S>]?: SessionInput<S, K> }): void {
    this.#assertOpen("update");
    this.#data.writeAll(partial as Record<string, unknown>);
  }

  /** A frozen snapshot of the whole data, schema defaults applied. */
  all(): SessionData<S> {
    const snapshot: Record<string, unknown> = {};
    for (const key of Object.keys(this.#ctx.runtime.shape)) {
      const value = this.get(key as SessionKey<S>);
      if (value !== undefined || this.#data.live(key)) Object.defineProperty(snapshot, key, { value, enumerable: true });
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
    if (!this.#data.live(key) || !this.#data.entry(key)?.flash) return undefined;
    const value = this.#data.value(key) as SessionValue<S, K>;
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
    } else override = { kind: "idle", seconds: durationArgument(EXPIRY_KEY, value, this.#ctx.nowMs()) };
    this.#policyMoved();
    if (override === null) this.#data.remove(EXPIRY_KEY, this.#record !== null);
    else this.#data.writeEntry(EXPIRY_KEY, serializeExpiry(override));
  }

  /** When the session expires on the server, as of this request's save. */
  get expiresAt(): Date {
    return new Date(this.#nextExpiry(this.#ctx.nowMs()));
  }

  /** Seconds until `expiresAt`. */
  get expiryAge(): number {
    const now = this.#ctx.nowMs();
    return Math.max(0, Math.round((this.#nextExpiry(now) - now) / 1000));
  }

  /** No stored record stands behind this session (yet). */
  get isNew(): boolean {
    return this.#record === null;
  }

  /** This request changed the data (or its expiry) and a save would write. */
  get isModified(): boolean {
    return this.#data.isModified;
  }

  /** No key holds a value. */
  get isEmpty(): boolean {
    for (const key of this.#data.keys()) if (this.#data.live(key)) return false;
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
    return this.#exclusive(() => this.#rotate());
  }

  async #rotate(): Promise<void> {
    const now = this.#ctx.nowMs();
    const token = createToken();
    const id = hashToken(token);
    const old = this.#record;
    if (this.#ctx.sealer !== null) {
      // Nothing is stored server-side: the old cookie cannot be killed, only replaced (documented).
      this.#id = id;
      if (old !== null) {
        this.#record = { ...old, id };
        this.#reseal = true;
        this.#ctx.emit("rotated", id);
      }
      return;
    }
    if (old !== null) {
      const record = this.#fullRecord(id, now);
      const sent = this.#pending();
      const grace = this.#ctx.rotationGraceSeconds;
      const graceUntil = grace > 0 ? new Date(now + grace * 1000) : null;
      if (!(await this.#ctx.store.rotate(old.id, record, graceUntil, new Date(now)))) this.#interrupted(old.id);
      this.#saved(record, sent);
      this.#ctx.emit("rotated", id);
    }
    this.#token = token;
    this.#id = id;
    if (old !== null) this.#cookie = "set";
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
    // Key order does not count: Postgres' jsonb hands objects back with their keys reordered.
    const identity = (entry: StoredEntry | undefined) => canonicalJson([entry?.json, entry?.meta]);
    const before = this.#data.live(key) ? identity(this.#data.entry(key)) : null;
    this.#write(key, value, undefined, false);
    if (before !== null && before !== identity(this.#data.entry(key))) {
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
      this.#data.discard(keys);
      return;
    }
    this.#data.discard();
    this.#policyChanged = false;
  }

  /**
   * Django's `flush`: deletes the stored record, clears the cookie, and continues as a fresh
   * empty session with a new token.
   */
  async destroy(): Promise<void> {
    this.#assertOpen("destroy");
    this.#assertOwnToken("destroy");
    return this.#exclusive(() => this.#destroy());
  }

  async #destroy(): Promise<void> {
    const id = this.#record?.id ?? null;
    if (id !== null) {
      if (this.#ctx.sealer === null) await this.#ctx.store.delete(id);
      this.#ctx.emit("destroyed", id);
    }
    this.#token = null;
    this.#id = null;
    this.#record = null;
    this.#data.reset();
    this.#cookie = this.#hadCookie || id !== null ? "clear" : null;
    this.#reseal = false;
  }

  /**
   * Persists what changed: a new session's first write inserts, later ones send a patch
   * of the changed keys; an unchanged session costs at most a throttled expiry touch.
   * Throws `SessionInterruptedError` when the record vanished meanwhile.
   */
  async save(): Promise<void> {
    await this.#exclusive(() => this.#save(this.#ctx.nowMs()));
  }

  async #save(now: number): Promise<void> {
    if (this.#ctx.sealer !== null) return this.#saveSealed(this.#ctx.sealer, now);
    const record = this.#record;
    if (record === null) {
      if (!this.#data.hasData) return; // R9: an empty new session is never stored nor sent.
      if (this.#expiredOnPurpose(now)) return;
      this.#token ??= createToken();
      this.#id ??= hashToken(this.#token);
      const fresh = this.#fullRecord(this.#id, now);
      const sent = this.#pending();
      await this.#ctx.store.create(fresh);
      this.#saved(fresh, sent);
      this.#cookie = "set";
      this.#ctx.emit("created", fresh.id);
      return;
    }
    const nextMs = this.#nextExpiry(now);
    const expiryMoved = isTouchDue(this.#ctx.policy, record.expiresAt.getTime(), nextMs);
    const policyChanged = this.#policyChanged;
    if (policyChanged && nextMs <= now) {
      // B14: `setExpiry(pastDate)` ends a stored session: it is deleted, never rewritten as a dead row.
      await this.#ctx.store.delete(record.id);
      this.#ctx.emit("destroyed", record.id);
      this.#record = null;
      this.#token = null;
      this.#id = null;
      this.#policyChanged = false;
      this.#cookie = "clear";
      return;
    }
    if (this.#data.replacesAll) {
      const full = this.#fullRecord(record.id, now);
      const sent = this.#pending();
      const rev = await this.#onTime(now, (notAfter) => this.#ctx.store.replace(full, new Date(now), notAfter));
      if (rev === null) this.#interrupted(record.id);
      this.#saved({ ...full, rev }, sent);
    } else if (this.isModified) {
      const patch = {
        ...this.#data.changes(),
        expiresAt: new Date(nextMs),
        updatedAt: new Date(now),
        schemaVersion: this.#ctx.runtime.version,
        maxBytes: this.#ctx.maxBytes,
      };
      const sent = this.#pending();
      const rev = await this.#onTime(now, (notAfter) =>
        this.#ctx.store.patch(record.id, notAfter ? { ...patch, notAfter } : patch, new Date(now)),
      );
      if (rev === null) this.#interrupted(record.id);
      this.#saved({ ...record, expiresAt: patch.expiresAt, updatedAt: patch.updatedAt, rev }, sent);
    } else if (expiryMoved) {
      if (!(await this.#ctx.store.touch(record.id, new Date(nextMs), new Date(now)))) {
        // A read-only request of a session gone meanwhile: nothing to save, so no error. No clearing
        // cookie either: the session may be gone because a login in a parallel request rotated it,
        // and a clear arriving after that response would delete the new cookie (same name). The
        // dead one loads a fresh session next time.
        this.#ctx.emit("interrupted", record.id);
        this.#record = null;
        return;
      }
      this.#record = { ...record, expiresAt: new Date(nextMs) };
    } else return;
    if ((expiryMoved || policyChanged) && this.#token !== null) this.#cookie = "set";
  }

  /**
   * `save()`, then the Set-Cookie header values to send (none when the cookie need not change).
   * @example for (const value of await session.commit()) headers.append("Set-Cookie", value);
   */
  async commit(): Promise<string[]> {
    return (await this.#exclusive(() => this.#commit())).map((cookie) => cookie.header);
  }

  async #commit(): Promise<SessionCookie[]> {
    // One instant for the save and the cookie, so Max-Age matches the stored expiry to the second.
    const now = this.#ctx.nowMs();
    await this.#save(now);
    if (this.#cookie === "set" && this.#token !== null && this.#record !== null) {
      const maxAge = cookieMaxAge(this.#override(), this.#record.expiresAt.getTime(), now);
      return [sessionCookie(this.#ctx.cookie, this.#token, maxAge, new Date(now))];
    }
    if (this.#cookie === "clear") return [clearingCookie(this.#ctx.cookie)];
    return [];
  }

  /** `commit()` at this instant would write nothing and send no `Set-Cookie`. Mirrors the no-op branches of `#save`. */
  #isSettled(): boolean {
    if (this.#cookie !== null || this.#policyChanged || this.#reseal || this.#data.isModified) return false;
    if (this.#record === null) return !this.#data.hasData;
    return !isTouchDue(this.#ctx.policy, this.#record.expiresAt.getTime(), this.#nextExpiry(this.#ctx.nowMs()));
  }

  static {
    sessionInternals = {
      commitCookies: (session) => session.#exclusive(() => session.#commit()),
      lock: (session, reason) => {
        session.#lockedBecause = reason;
      },
      isSettled: (session) => session.#isSettled(),
      storeId: (session) => session.#record?.id ?? null,
    };
  }

  /**
   * A one-way tag of this session (as in `onEvent` and `findMany`), or null before it is stored.
   * @example const devices = (await sessions.findMany({ where: { userId } })).map((d) => ({ ...d, current: d.tag === session.tag }));
   */
  get tag(): string | null {
    return this.#record === null ? null : sessionTag(this.#record.id);
  }

  /**
   * Cookie stores: the whole record is sealed into the cookie on every change, rotation, re-sign
   * or due refresh; the sealed value is the cookie's value. Too big for a cookie → nothing is
   * sent and `SessionTooLargeError` names the size (R19).
   */
  async #saveSealed(sealer: CookieSessionStore, now: number): Promise<void> {
    const record = this.#record;
    if (record === null && !this.#data.hasData) return;
    if (record === null && this.#expiredOnPurpose(now)) return;
    if (record !== null) {
      const moved = isTouchDue(this.#ctx.policy, record.expiresAt.getTime(), this.#nextExpiry(now));
      if (!(this.isModified || this.#policyChanged || this.#reseal || moved)) return;
    }
    this.#id ??= hashToken(createToken());
    const id = record?.id ?? this.#id;
    const full = { ...this.#fullRecord(id, now), rev: (record?.rev ?? 0) + 1 };
    const sent = this.#pending();
    const value = await sealer.seal(full, this.#ctx.cookie.name);
    const cookie = sessionCookie(
      this.#ctx.cookie,
      value,
      cookieMaxAge(this.#override(), full.expiresAt.getTime(), now),
      new Date(now),
    ).header;
    const bytes = utf8Length(cookie);
    if (bytes > MAX_COOKIE_BYTES) throw new SessionTooLargeError(bytes, MAX_COOKIE_BYTES);
    this.#token = value;
    this.#saved(full, sent);
    this.#reseal = false;
    this.#cookie = "set";
    if (record === null) this.#ctx.emit("created", id);
  }

  /**
   * Cookie stores (B8): refuses a write whose cookie (name, sealed value and attributes) would pass
   * 4096 bytes, at the call, instead of at commit while the adapter is finishing the response.
   * `sealedLength` holds for any later instant (the dates are counted at their widest), and the
   * attributes are counted at their longest, so a session whose writes all passed this check
   * does not fail at commit for size.
   */
  #checkSealedFits(sealer: CookieSessionStore, data: StoredData): void {
    const id = this.#record?.id ?? this.#id ?? PLACEHOLDER_ID;
    const record = { ...this.#fullRecord(id, this.#ctx.nowMs()), data, rev: (this.#record?.rev ?? 0) + 1 };
    const chars = sealer.sealedLength(record, this.#ctx.cookie.name);
    const expiry = data[EXPIRY_KEY];
    const persistent = expiry === undefined || parseExpiry(expiry)?.kind !== "browser";
    const bytes = sessionCookieBytesBound(this.#ctx.cookie, chars, persistent);
    if (bytes > MAX_COOKIE_BYTES) throw new SessionTooLargeError(bytes, MAX_COOKIE_BYTES);
  }

  #write(key: string, value: unknown, ttl: Duration | undefined, flash: boolean): void {
    const nowMs = this.#ctx.nowMs();
    const ttlSeconds = ttl === undefined ? undefined : durationArgument(key, ttl, nowMs);
    this.#data.write(key, value, {
      ...(ttlSeconds === undefined ? {} : { exp: nowMs + ttlSeconds * 1000 }),
      ...(flash ? { flash: true as const } : {}),
    });
  }

  /**
   * A data write with its deadline (`storeTimeout` from now): a store refuses it if it lands
   * later, past a newer write, so a write this request gave up on cannot undo one made since. A
   * refusal that reaches us while we still wait was no late arrival but clocks that disagree by
   * more than `storeTimeout` (another server's, or ours stepped back): written again without the
   * deadline, last writer wins as before, rather than a false 503.
   */
  async #onTime<T>(nowMs: number, write: (notAfter: Date | undefined) => Promise<T>): Promise<T> {
    try {
      return await write(new Date(nowMs + this.#ctx.storeTimeoutMs));
    } catch (error) {
      // By name, not instanceof: a custom store may import another copy of the package.
      if (!isTesseraError(error) || error.name !== "SessionLateWriteError") throw error;
      return write(undefined);
    }
  }

  #pending(): PendingChanges {
    return { ...this.#data.pending(), policyChanges: this.#policyChanges };
  }

  #policyMoved(): void {
    this.#policyChanged = true;
    this.#policyChanges++;
  }

  #assertOpen(method: string): void {
    if (this.#lockedBecause !== null) throw new SessionUsageError(`session.${method}() ${this.#lockedBecause}`);
  }

  /**
   * B4: the old token reaches a rotated session during `rotationGrace` only so that requests in
   * flight are not logged out. Whoever holds it (possibly an attacker who planted it before the
   * victim's login) must not mint a token for the victim's session, kill it or stretch it, so
   * identity changes through a grace shadow are refused; nothing is written and no cookie is sent.
   */
  #assertOwnToken(method: string): void {
    if (!this.#viaGrace) return;
    throw new SessionInterruptedError(
      `session.${method}() refused: this request reached the session through its token from before a rotation`,
    );
  }

  /**
   * B14: a new session whose expiry is already past (`setExpiry(pastDate)`) is never written: it
   * would be a dead row only purge removes. The cookie of a request that had one is cleared.
   */
  #expiredOnPurpose(nowMs: number): boolean {
    if (this.#nextExpiry(nowMs) > nowMs) return false;
    this.#cookie = this.#hadCookie ? "clear" : null;
    return true;
  }

  #override(): ExpiryOverride | undefined {
    const entry = this.#data.entry(EXPIRY_KEY);
    return entry === undefined ? undefined : parseExpiry(entry);
  }

  #nextExpiry(nowMs: number): number {
    const record = this.#record;
    const override = this.#override();
    const createdMs = record?.createdAt.getTime() ?? nowMs;
    const absoluteMs = record ? (record.absoluteExpiresAt?.getTime() ?? null) : absoluteExpiry(this.#ctx.policy, createdMs);
    const next = expiryAt(this.#ctx.policy, override, nowMs, absoluteMs);
    if (record === null || this.#policyChanged || this.#data.replacesAll) return next;
    // Writes move the expiry under the same throttle as reads: the cookie is re-sent only when
    // it moved by touchAfter, and an unchanged expires_at keeps Postgres updates HOT.
    const stored = record.expiresAt.getTime();
    const extend = this.#ctx.policy.rolling || this.isModified;
    return extend && isTouchDue(this.#ctx.policy, stored, next) ? next : stored;
  }

  #fullRecord(id: string, nowMs: number): StoredSession {
    const data = this.#data.toStoredData();
    const created = this.#record?.createdAt ?? new Date(nowMs);
    const absoluteMs = this.#record
      ? (this.#record.absoluteExpiresAt?.getTime() ?? null)
      : absoluteExpiry(this.#ctx.policy, nowMs);
    return {
      id,
      data,
      expiresAt: new Date(expiryAt(this.#ctx.policy, this.#override(), nowMs, absoluteMs)),
      absoluteExpiresAt: absoluteMs === null ? null : new Date(absoluteMs),
      createdAt: created,
      updatedAt: new Date(nowMs),
      schemaVersion: this.#ctx.runtime.version,
      rev: 1,
      successorId: null,
    };
  }

  /** The store holds `record`; what `sent` described is saved, changes made meanwhile stay pending. */
  #saved(record: StoredSession, sent: PendingChanges): void {
    this.#record = record;
    this.#id = record.id;
    this.#data.markSaved(sent);
    if (this.#policyChanges === sent.policyChanges) this.#policyChanged = false;
  }

  /**
   * Saves, rotations and destroys of one session run one at a time, in call order: the
   * procedures of a tRPC batch share one session and commit concurrently, and two saves in
   * flight at once would both insert a new session, or rotate from under each other.
   */
  #exclusive<T>(run: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #interrupted(id: string): never {
    this.#ctx.emit("interrupted", id);
    throw new SessionInterruptedError("The session was destroyed, revoked or expired by another request; nothing was saved");
  }
}

/** JSON text with every object's keys sorted, so two encodings of one value compare equal. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) return inner;
    const sorted: Record<string, unknown> = Object.create(null); // an own "__proto__" key stays a key
    for (const key of Object.keys(inner).sort()) sorted[key] = (inner as Record<string, unknown>)[key];
    return sorted;
  });
}

/**
 * A duration passed to a method (not an option): bad input is a validation error of that key,
 * not a config error, raised at the call (B7) so that nothing is written with an instant past
 * `Date`'s range.
 */
function durationArgument(key: string, value: Duration, nowMs: number): number {
  let seconds: number;
  try {
    seconds = toSeconds(value);
  } catch (error) {
    const tooBig = typeof value === "number" && value > MAX_DURATION_SECONDS;
    const message = tooBig ? "a duration is at most 1,000 years" : "expected a duration";
    throw new SessionValidationError(key, [{ code: tooBig ? "too_big" : "invalid_type", path: [], message }], {
      cause: error,
    });
  }
  if (nowMs + seconds * 1000 > LAST_INSTANT_MS) {
    throw new SessionValidationError(key, [{ code: "too_big", path: [], message: "duration reaches past year 9999" }]);
  }
  return seconds;
}
