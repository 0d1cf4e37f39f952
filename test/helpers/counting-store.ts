import type { SessionStore } from "../../src/store.js";

export type StoreMethod = keyof SessionStore;

/**
 * Wraps a real store and counts calls per method, so tests can assert what a request
 * cost (no write on an untouched session, no lookup for a malformed cookie). Every call
 * still reaches the real backend.
 */
export function countingStore(store: SessionStore): { store: SessionStore; calls: Record<StoreMethod, number>; reset(): void } {
  const calls = {} as Record<StoreMethod, number>;
  const reset = () => {
    for (const name of Object.keys(store) as StoreMethod[]) calls[name] = 0;
  };
  reset();
  const wrapped = {} as Record<StoreMethod, unknown>;
  for (const name of Object.keys(store) as StoreMethod[]) {
    const method = store[name] as (...args: unknown[]) => Promise<unknown>;
    wrapped[name] = (...args: unknown[]) => {
      calls[name]++;
      return method.apply(store, args);
    };
  }
  return { store: wrapped as SessionStore, calls, reset };
}

/** Calls that write to the store. */
export function writes(calls: Record<StoreMethod, number>): number {
  return calls.create + calls.replace + calls.patch + calls.touch + calls.rotate + calls.delete;
}
