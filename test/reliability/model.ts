import type { ExpiryArg, ModelKey } from "./arbitraries.js";

/**
 * The model the reliability suite checks every store against: what a session holds, per
 * record, and what each request sees and has changed, with the rules of DESIGN §2 written
 * out plainly (per-key patches, update-only saves, rotation, grace shadows, revoke). It knows
 * nothing of tokens' values or encodings; the runner binds real cookies to its records.
 */

export interface Entry {
  value: unknown;
  flash: boolean;
}

/** An expiry override as the model needs it: only "past" changes liveness (the clock stands still). */
export type Override = "browser" | "idle" | "future" | "past";

/** A stored record (server stores), or what one issued cookie carries (the cookie store). */
export interface Rec {
  /** Creation order, for messages. */
  n: number;
  data: Map<ModelKey, Entry>;
  override: Override | null;
  alive: boolean;
  /** Set on a grace shadow: the record that replaced it in a rotation. */
  successor: Rec | null;
}

/** One request's model: the session it loaded and what it changed. */
export interface RequestModel {
  /** The browser's own request, or another client holding an old cookie (whose Set-Cookie the browser never sees). */
  client: "browser" | "other";
  /** The record the request's session stands on; null for a new session. */
  base: Rec | null;
  view: Map<ModelKey, Entry>;
  override: Override | null;
  dirty: Set<string>;
  deleted: Set<string>;
  userDeleted: boolean;
  replaceAll: boolean;
  /** Reached through a grace shadow (B4): rotate, destroy and setExpiry are refused. */
  viaGrace: boolean;
  /** Cookie store: the next commit seals the cookie again (after `rotate`). */
  reseal: boolean;
}

const EXPIRY = "$expiry";
/** Rotations within one grace window an old token is followed through (src/manager.ts). */
const MAX_GRACE_HOPS = 4;

export class Model {
  readonly #records: Rec[] = [];
  readonly clientSide: boolean;
  readonly grace: boolean;

  constructor(clientSide: boolean, grace: boolean) {
    this.clientSide = clientSide;
    this.grace = grace;
  }

  record(data: Map<ModelKey, Entry>, override: Override | null): Rec {
    const rec: Rec = { n: this.#records.length + 1, data: new Map(data), override, alive: override !== "past", successor: null };
    this.#records.push(rec);
    return rec;
  }

  /** What a load with a cookie naming `rec` (undefined: no or unknown cookie) gives. */
  load(rec: Rec | undefined, client: RequestModel["client"]): RequestModel {
    let base: Rec | null = null;
    let viaGrace = false;
    if (rec?.alive) {
      if (rec.successor === null) base = rec;
      else if (!this.clientSide && this.grace) {
        // An old token follows a chain of rotations within the window (a few hops) to the current record.
        let current: Rec = rec;
        for (let hops = 0; current.successor !== null && current.alive && hops < MAX_GRACE_HOPS; hops++)
          current = current.successor;
        if (current.alive && current.successor === null) {
          base = current;
          viaGrace = true;
        }
      }
    }
    return {
      client,
      base,
      view: new Map(base?.data ?? []),
      override: base?.override ?? null,
      dirty: new Set(),
      deleted: new Set(),
      userDeleted: false,
      replaceAll: false,
      viaGrace,
      reseal: false,
    };
  }

  isModified(req: RequestModel): boolean {
    return req.replaceAll || req.dirty.size > 0 || req.userDeleted;
  }

  write(req: RequestModel, key: ModelKey, value: unknown, flash: boolean): void {
    req.view.set(key, { value, flash });
    req.dirty.add(key);
    req.deleted.delete(key);
  }

  remove(req: RequestModel, key: string): boolean {
    const had = key === EXPIRY ? req.override !== null : req.view.has(key as ModelKey);
    if (!had) return false;
    if (key === EXPIRY) req.override = null;
    else req.view.delete(key as ModelKey);
    req.dirty.delete(key);
    if (req.base !== null && !req.replaceAll) {
      req.deleted.add(key);
      req.userDeleted = true;
    }
    return true;
  }

  clear(req: RequestModel): void {
    req.view.clear();
    req.override = null;
    req.dirty.clear();
    req.deleted.clear();
    req.replaceAll = true;
  }

  /** `setExpiry(arg)`: "refused" when it must throw (through a grace shadow: B4; past `Date`'s range: B7). */
  setExpiry(req: RequestModel, arg: ExpiryArg): "ok" | "interrupted" | "invalid" {
    if (req.viaGrace) return "interrupted";
    if (arg === "huge") return "invalid";
    if (arg === "null") this.remove(req, EXPIRY);
    else {
      req.override = arg;
      req.dirty.add(EXPIRY);
      req.deleted.delete(EXPIRY);
    }
    return "ok";
  }

  /** `rotate()`; server stores move the record to a new id at once (the old one dies or becomes a shadow). */
  rotate(req: RequestModel): { outcome: "ok" | "interrupted"; rotated: boolean } {
    if (req.viaGrace) return { outcome: "interrupted", rotated: false };
    if (req.base === null) return { outcome: "ok", rotated: false };
    if (this.clientSide) {
      req.reseal = true;
      return { outcome: "ok", rotated: false };
    }
    const old = req.base;
    if (!old.alive || old.successor !== null) return { outcome: "interrupted", rotated: false };
    const next = this.record(req.view, req.override);
    if (this.grace) {
      old.data = new Map();
      old.override = null;
      old.successor = next;
    } else old.alive = false;
    req.base = next;
    this.#saved(req);
    return { outcome: "ok", rotated: true };
  }

  /** `destroy()`: the record goes at once; the request goes on as a new, empty session. */
  destroy(req: RequestModel): "ok" | "interrupted" {
    if (req.viaGrace) return "interrupted";
    if (req.base !== null && !this.clientSide) req.base.alive = false;
    req.base = null;
    req.view.clear();
    req.override = null;
    this.#saved(req);
    return "ok";
  }

  /**
   * `commit()`: what it must do to the records. `created` names the record a new cookie must
   * carry (a first save, or a cookie store's new seal); "none" means nothing may be written.
   */
  commit(req: RequestModel): { outcome: "ok" | "interrupted"; created: Rec | null; wrote: boolean } {
    if (this.clientSide) return this.#commitSealed(req);
    const rec = req.base;
    if (rec === null) {
      // R9: an empty new session is not stored; B14: nor one expired on purpose.
      if (req.view.size === 0 || req.override === "past") {
        req.view.clear();
        req.override = null;
        this.#saved(req);
        return { outcome: "ok", created: null, wrote: false };
      }
      const created = this.record(req.view, req.override);
      req.base = created;
      this.#saved(req);
      return { outcome: "ok", created, wrote: true };
    }
    if (!this.isModified(req)) return { outcome: "ok", created: null, wrote: false };
    if (req.override === "past") {
      // B14: `setExpiry(pastDate)` ends a stored session as `destroy()` does: deleted (idempotent), never rewritten.
      rec.alive = false;
      this.#saved(req);
      return { outcome: "ok", created: null, wrote: false };
    }
    if (!rec.alive || rec.successor !== null) return { outcome: "interrupted", created: null, wrote: false };
    if (req.replaceAll) {
      rec.data = new Map(req.view);
      rec.override = req.override;
    } else {
      for (const key of req.dirty) {
        if (key === EXPIRY) rec.override = req.override;
        else rec.data.set(key as ModelKey, req.view.get(key as ModelKey) as Entry);
      }
      for (const key of req.deleted) {
        if (key === EXPIRY) rec.override = null;
        else rec.data.delete(key as ModelKey);
      }
    }
    this.#saved(req);
    return { outcome: "ok", created: null, wrote: true };
  }

  /** Cookie store: a changed session is sealed whole into a new cookie; the last one the browser gets wins. */
  #commitSealed(req: RequestModel): { outcome: "ok"; created: Rec | null; wrote: boolean } {
    const write = req.base === null ? req.view.size > 0 && req.override !== "past" : this.isModified(req) || req.reseal;
    if (!write) {
      if (req.base === null) req.override = null;
      return { outcome: "ok", created: null, wrote: false };
    }
    const created = this.record(req.view, req.override);
    req.base = created;
    req.reseal = false;
    this.#saved(req);
    return { outcome: "ok", created, wrote: true };
  }

  /** `revoke({ where: { userId: "u1" } })`: every live session whose stored userId is "u1" goes. */
  revoke(): number {
    let count = 0;
    for (const rec of this.#records) {
      if (rec.alive && rec.successor === null && rec.data.get("userId")?.value === "u1") {
        rec.alive = false;
        count++;
      }
    }
    return count;
  }

  #saved(req: RequestModel): void {
    req.dirty.clear();
    req.deleted.clear();
    req.userDeleted = false;
    req.replaceAll = false;
  }
}
