import { isTesseraError, SessionStoreError } from "./errors.js";
import { redactError } from "./redact.js";
import type { SessionStore } from "./store.js";

/**
 * Wraps every store method in a timeout and maps driver failures to `SessionStoreError`
 * (R48, R56), so no request hangs on a dead backend and callers see one error type. A
 * timed-out call may still complete on the server; the caller has already been told it failed.
 */
export function guardStore(store: SessionStore, timeoutMs: number): SessionStore {
  const guarded = {} as Record<keyof SessionStore, unknown>;
  for (const name of methods) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>;
    guarded[name] = (...args: unknown[]) => bounded(name, () => method.apply(store, args), timeoutMs);
  }
  // A pure, synchronous measure: nothing to bound.
  if (store.entryBytes) guarded.entryBytes = store.entryBytes.bind(store);
  return guarded as SessionStore;
}

/** The `cause` of a timed-out store call: which call, and the limit it ran past (DESIGN §1: a store error carries a cause). */
export class StoreTimeoutError extends Error {
  readonly call: string;
  readonly timeoutMs: number;

  constructor(call: string, timeoutMs: number) {
    super(`store ${call}() took longer than storeTimeout (${timeoutMs} ms)`);
    this.name = "StoreTimeoutError";
    this.call = call;
    this.timeoutMs = timeoutMs;
  }
}

const methods = [
  "get",
  "create",
  "replace",
  "patch",
  "touch",
  "rotate",
  "delete",
  "find",
  "deleteWhere",
  "purgeExpired",
] as const satisfies ReadonlyArray<keyof SessionStore>;

// One promise and one timer per call, without async/await or Promise.race: this runs around
// every store call on the hot path.
function bounded<T>(name: string, call: () => Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new SessionStoreError(`session store ${name}() did not answer within ${timeoutMs} ms`, {
            cause: new StoreTimeoutError(name, timeoutMs),
          }),
        ),
      timeoutMs,
    );
    const failed = (error: unknown) => {
      clearTimeout(timer);
      // A store may raise a typed error of its own (a config problem); pass it on unchanged.
      reject(
        isTesseraError(error) ? error : new SessionStoreError(`session store ${name}() failed`, { cause: redactError(error) }),
      );
    };
    try {
      call().then((value) => {
        clearTimeout(timer);
        resolve(value);
      }, failed);
    } catch (error) {
      failed(error); // a store method that throws instead of rejecting
    }
  });
}
