import { aliasSession, legacyPending, loadedFromSnapshot } from "../../adapter-kit.js";
import type { Session, SessionSchema } from "../../index.js";
import { SessionUsageError } from "../../index.js";

/**
 * One request's session, shared by the procedures of a tRPC batch, which run concurrently. It is
 * committed once no procedure of the request is inside `sessionMiddleware`, so a commit never
 * carries the writes of a procedure that is still running or that failed (issue 12.9); each
 * procedure sees the session through a view that records which keys it changed.
 */
export interface Batch {
  readonly session: Session<SessionSchema>;
  /** Saves and sends the cookie; session errors come out already translated. */
  readonly commit: () => Promise<void>;
  /** The response's headers are already sent (httpBatchStreamLink): nothing may need a new cookie. */
  readonly streamed: boolean;
  /** Procedures inside the middleware now. */
  running: number;
  /** A procedure answered OK since the last commit: one is owed. */
  owed: boolean;
  /** The commit that finished writers wait for; started by the last procedure to finish. */
  waiting: Deferred | null;
  /** The commit in flight: a procedure that enters meanwhile starts after it. */
  committing: Promise<unknown> | null;
  /** Which procedure's writes hold each key now, for `discard` when that procedure fails. */
  readonly writers: Map<string, Set<string>>;
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

const batches = new WeakMap<object, Batch>();
const views = new WeakSet<object>();

/**
 * Starts the batch of `session`. When `signal` aborts (the client left), writers still waiting
 * for a procedure that never ends fail with `abortError()` and save nothing.
 */
export function openBatch(
  session: Session<SessionSchema>,
  options: { commit: () => Promise<void>; streamed: boolean; signal: AbortSignal; abortError: () => Error },
): void {
  const batch: Batch = {
    session,
    commit: options.commit,
    streamed: options.streamed,
    running: 0,
    owed: false,
    waiting: null,
    committing: null,
    writers: new Map(),
  };
  batches.set(session, batch);
  options.signal.addEventListener(
    "abort",
    () => {
      const waiting = batch.waiting;
      batch.waiting = null;
      batch.owed = false;
      waiting?.reject(options.abortError());
    },
    { once: true },
  );
}

/** The batch of a context's session, or undefined (`"view"` when it is already a procedure's view). */
export function batchOf(session: object): Batch | "view" | undefined {
  return views.has(session) ? "view" : batches.get(session);
}

/**
 * Runs one procedure (`run`, given its view of the session) as part of `batch`: a failed one
 * discards the writes it holds; the last one to finish commits, when one that answered OK is owed
 * it; one that wrote answers after that commit, and gets its error. Returns `run`'s result.
 */
export async function inBatch<R extends { ok: boolean }>(batch: Batch, run: (view: object) => Promise<R>): Promise<R> {
  // A commit takes its snapshot a tick after it starts: a write made in that tick by a procedure
  // that then fails would go with it.
  while (batch.committing !== null) await batch.committing;
  const own = new Set<string>();
  batch.running++;
  let result: R;
  try {
    result = await run(viewOf(batch, own));
  } catch (error) {
    void finish(batch, own, false)?.catch(() => {});
    throw error;
  }
  try {
    await finish(batch, own, result.ok);
  } catch (error) {
    // A failed procedure answers with its own error; a commit error is for those that answered OK.
    if (result.ok) throw error;
  }
  return result;
}

function finish(batch: Batch, own: Set<string>, ok: boolean): Promise<unknown> | null {
  batch.running--;
  if (ok) batch.owed = true;
  else discardOwn(batch, own);
  if (batch.running > 0) {
    if (!ok || own.size === 0) return null; // nothing of its own to wait for
    batch.waiting ??= deferred();
    return batch.waiting.promise.catch((error: unknown) => {
      discardOwn(batch, own); // released without a commit: this answer is an error, so nothing of it stays
      throw error;
    });
  }
  const waiting = batch.waiting;
  batch.waiting = null;
  if (!batch.owed) return null;
  batch.owed = false;
  const commit = batch.commit();
  const done = () => {
    batch.committing = null;
  };
  batch.committing = commit.then(done, done);
  if (waiting !== null) commit.then(waiting.resolve, waiting.reject);
  return commit;
}

function discardOwn(batch: Batch, own: Set<string>): void {
  const keys = [...own].filter((key) => batch.writers.get(key) === own);
  for (const key of keys) batch.writers.delete(key);
  own.clear();
  if (keys.length > 0) batch.session.discard(...(keys as never[]));
}

/** The session's reserved key of `setExpiry`'s override; `discard` restores it like any key. */
const EXPIRY_KEY = "$expiry";
const reads = new Set<PropertyKey>(["get", "has", "all"]);
/** Methods whose first argument is the one key they may change. */
const keyed = new Set<PropertyKey>(["set", "delete", "pop", "flash", "setdefault", "consumeFlash"]);
/** Methods that change no value before they return (the store work comes after). */
const valueless = new Set<PropertyKey>(["rotate", "destroy", "save", "commit"]);
const needsCookie = new Set<PropertyKey>(["rotate", "destroy", "login", "setExpiry"]);
/** Methods that change nothing of their own: what they save was changed through the others. */
const passive = new Set<PropertyKey>(["save", "commit", "discard"]);
const adds = new Set<PropertyKey>(["set", "flash", "update", "setdefault", "login"]);
const ABSENT = Symbol("absent");

/**
 * One procedure's view of the shared session: every member forwards to the session (methods
 * bound to it: a proxy receiver could not reach its private fields), and each call records in
 * `own` the keys it changed, found by comparing their live values before and after it.
 */
function viewOf(batch: Batch, own: Set<string>): object {
  const bound = new Map<PropertyKey, unknown>();
  const view = new Proxy(batch.session, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property, target);
      if (typeof member !== "function") return member;
      if (!bound.has(property)) {
        const call = (...args: unknown[]) => (member as (...a: unknown[]) => unknown).apply(target, args);
        bound.set(property, reads.has(property) ? call : (...args: unknown[]) => record(batch, own, property, args, call));
      }
      return bound.get(property);
    },
  });
  views.add(view);
  aliasSession(view, batch.session);
  return view;
}

function record(
  batch: Batch,
  own: Set<string>,
  method: PropertyKey,
  args: unknown[],
  call: (...args: unknown[]) => unknown,
): unknown {
  const { session } = batch;
  // Refused before the store is touched: a new session's row, or a rotation, whose cookie can no
  // longer reach the client would be an orphan, or log the user out.
  // A session loaded through its legacy cookie needs a new cookie for any change (its claim).
  const claims = !passive.has(method) && legacyPending(session);
  if (batch.streamed && (needsCookie.has(method) || claims || (adds.has(method) && session.isNew))) {
    throw new SessionUsageError(
      `session.${String(method)}() needs a new cookie, but this streamed response's headers are already sent: send it through httpBatchLink`,
    );
  }
  // A write to a session read from the browser's cookie-cache snapshot must replace that snapshot,
  // or the browser's next read-modify-write would start from it and undo this write.
  if (batch.streamed && !passive.has(method) && loadedFromSnapshot(session)) {
    throw new SessionUsageError(
      `session.${String(method)}() changes a session read from its cookie-cache snapshot, which this streamed response can no longer replace: send it through httpBatchLink`,
    );
  }
  // The keys the call may change: one, the update's, none, or (clear, login, discard) all of them.
  const keys = keyed.has(method)
    ? [String(args[0])]
    : method === "update"
      ? Object.keys(args[0] ?? {})
      : valueless.has(method)
        ? []
        : null;
  const before = liveValues(session, keys);
  const claim = (key: string) => {
    own.add(key);
    batch.writers.set(key, own);
  };
  try {
    const result = call(...args);
    if (method === "setExpiry" || method === "clear") claim(EXPIRY_KEY);
    return result;
  } finally {
    const after = liveValues(session, keys);
    for (const key of new Set([...before.keys(), ...after.keys()])) if (before.get(key) !== after.get(key)) claim(key);
  }
}

/** The live value (or ABSENT) of each of `keys`, or of every key that has one when `keys` is null. */
function liveValues(session: Session<SessionSchema>, keys: string[] | null): Map<string, unknown> {
  const values = new Map<string, unknown>();
  for (const key of keys ?? Object.keys(session.all())) {
    values.set(key, session.has(key as never) ? session.get(key as never) : ABSENT);
  }
  return values;
}

function deferred(): Deferred {
  let resolve = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A rejection no procedure waits for any more (all were released) is not unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}
