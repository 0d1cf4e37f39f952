import type { CookieSessionStore, SessionStore } from "../../src/store.js";

export type StoreMethod = keyof SessionStore;

/**
 * Wraps a real store and counts calls per method, so tests can assert what a request
 * cost (no write on an untouched session, no lookup for a malformed cookie). Every call
 * still reaches the real backend.
 */
export function countingStore<T extends SessionStore | CookieSessionStore>(
  store: T,
): { store: T; calls: Record<StoreMethod, number>; reset(): void } {
  const members = store as unknown as Record<string, unknown>;
  const calls = {} as Record<StoreMethod, number>;
  const methods = Object.keys(store).filter((name) => typeof members[name] === "function") as StoreMethod[];
  const reset = () => {
    for (const name of methods) calls[name] = 0;
  };
  reset();
  // Non-function members (a cookie store's `kind`) are kept as they are.
  const wrapped: Record<string, unknown> = { ...members };
  for (const name of methods) {
    const method = members[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = (...args: unknown[]) => {
      calls[name]++;
      return method.apply(store, args);
    };
  }
  return { store: wrapped as unknown as T, calls, reset };
}

/** Calls that write to the store. */
export function writes(calls: Record<StoreMethod, number>): number {
  return calls.create + calls.replace + calls.patch + calls.touch + calls.rotate + calls.delete;
}
