import { withCache } from "../cached-store.js";
import type { SessionStore } from "../store.js";
import { connect } from "./connection.js";
import { describeError, failure, redactUrl } from "./failure.js";
import { loadConfigStore } from "./load-config.js";

/** The connection options every command takes. */
export interface GlobalOptions {
  databaseUrl?: string;
  redisUrl?: string;
  config?: string;
}

/** The store a command works on, and how to release what the CLI opened for it. */
export interface OpenedStore {
  store: SessionStore;
  /**
   * Non-null once the cache in front of the store failed a call: `withCache` fails open (a
   * request must not fail on its cache), but an operator who revokes sessions must hear that
   * cached copies may outlive the rows.
   */
  cacheFailure(): string | null;
  close(): Promise<void>;
}

/**
 * With `--config`: the app's own store (table, indexed columns, cache), through the
 * connections its module opened; the CLI does not own those and leaves them to
 * `process.exit`. Without: `drizzleStore` on the default table at `--database-url`, and, when
 * `withCache` is asked for (`revoke`) and `--redis-url` given, `redisCache` in front of it so
 * deleted sessions also leave the cache.
 */
export async function openStore(options: GlobalOptions, { withRedis = false } = {}): Promise<OpenedStore> {
  if (options.config !== undefined) {
    const store = await loadConfigStore(options.config);
    return { store, cacheFailure: () => null, close: async () => {} };
  }
  const connection = await connect(options.databaseUrl);
  try {
    const { drizzleStore } = await import("../stores/drizzle/index.js");
    const store = drizzleStore({ db: connection.db });
    if (!withRedis || options.redisUrl === undefined || options.redisUrl === "") {
      return { store, cacheFailure: () => null, close: () => connection.close() };
    }
    const cached = await cacheInFront(store, options.redisUrl);
    return {
      store: cached.store,
      cacheFailure: cached.failure,
      close: async () => {
        await cached.close();
        await connection.close();
      },
    };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

async function cacheInFront(store: SessionStore, url: string) {
  const label = redactUrl(url);
  const [{ Redis }, { redisCache }] = await Promise.all([
    import("ioredis").catch((error: unknown) => {
      throw failure('--redis-url needs the "ioredis" package: npm install ioredis', error);
    }),
    import("../stores/redis/index.js"),
  ]);
  // One try per command and no reconnect loop: a CLI should fail, not wait for Redis.
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  let lastError: unknown = null;
  redis.on("error", (error: unknown) => {
    lastError = error;
  });
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw failure(`cannot connect to ${label}: ${describeError(lastError ?? error)}`, error);
  }
  let failed: string | null = null;
  const cached = withCache(store, redisCache({ redis }), {
    // Not the request path: give a loaded Redis time rather than skip it.
    timeoutMs: 5000,
    onStateChange: (state) => {
      if (state === "down")
        failed = `the cache at ${label} did not answer: cached copies may be served until they expire from it`;
    },
  });
  return {
    store: cached,
    failure: () => failed,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
