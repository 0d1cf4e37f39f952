import { SessionConfigError } from "./errors.js";
import type { SessionStore } from "./store.js";

/**
 * The server side of a cookie store: there is none. Sessions that live in the cookie cannot be
 * listed or revoked, and there is nothing to purge, so the manager's server-side operations say
 * so clearly instead of pretending.
 */
export function clientSideStore(): SessionStore {
  const unsupported = (what: string) => async (): Promise<never> => {
    throw new SessionConfigError(
      `${what} needs a server-side store: a cookie store keeps each session in its cookie, so it cannot list or revoke sessions`,
    );
  };
  return {
    get: async () => null,
    create: async () => {},
    replace: async () => null,
    patch: async () => null,
    touch: async () => false,
    rotate: async () => false,
    delete: async () => {},
    find: unsupported("findMany"),
    deleteWhere: unsupported("revoke"),
    // Expired cookies die in the browser and are refused on load: there is nothing to purge.
    purgeExpired: async () => 0,
  };
}
