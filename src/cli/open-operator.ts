import type { SessionEvent, SessionOperator } from "../index.js";
import { type Connection, connect } from "./connection.js";
import { describeError, failure, redactUrl } from "./failure.js";
import { loadConfigOperator } from "./load-config.js";

/** The connection options every command takes. */
export interface GlobalOptions {
  databaseUrl?: string;
  redisUrl?: string;
  config?: string;
}

/** The operator a command works through, and how to release what the CLI opened for it. */
export interface OpenedOperator {
  operator: SessionOperator;
  /**
   * Non-null once the cache in front of the store failed a call: the operator fails open (a
   * purge must not stop on its cache), but an operator who revokes sessions must hear that
   * cached copies may outlive the rows.
   */
  cacheFailure(): string | null;
  close(): Promise<void>;
}

/**
 * With `--config`: the app's own `sessions.operator` (its table, indexed columns, cache and
 * schema), through the connections its module opened; the CLI does not own those and leaves
 * them to `process.exit`. Without: `openOperator` over `drizzleStore` on the default table at
 * `--database-url`, and, when `withRedis` is asked for (`revoke`) and `--redis-url` given,
 * `redisCache` in front of it so deleted sessions also leave the cache.
 */
export async function openOperator(options: GlobalOptions, { withRedis = false } = {}): Promise<OpenedOperator> {
  if (options.config !== undefined) {
    const operator = await loadConfigOperator(options.config);
    return { operator, cacheFailure: () => null, close: async () => {} };
  }
  const connection = await connect(options.databaseUrl);
  try {
    const [{ openOperator: open }, { drizzleStore }] = await Promise.all([
      import("../index.js"),
      import("../stores/drizzle/index.js"),
    ]);
    const store = storeOf(connection, drizzleStore);
    if (!withRedis || options.redisUrl === undefined || options.redisUrl === "") {
      return { operator: open({ store }), cacheFailure: () => null, close: () => connection.close() };
    }
    const label = redactUrl(options.redisUrl);
    const redis = await connectRedis(options.redisUrl, label);
    const { redisCache } = await import("../stores/redis/index.js");
    let failed: string | null = null;
    const onEvent = (event: SessionEvent) => {
      if (event.type === "cache-down")
        failed = `the cache at ${label} did not answer: cached copies may be served until they expire from it`;
    };
    // Not the request path: openOperator gives a loaded Redis 5 s rather than skip it.
    const operator = open({ store, cache: redisCache({ redis }), onEvent });
    return {
      operator,
      cacheFailure: () => failed,
      close: async () => {
        await redis.quit().catch(() => redis.disconnect());
        await connection.close();
      },
    };
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw error;
  }
}

/** `drizzleStore` on the connection's db, through the overload of its dialect. */
function storeOf(connection: Connection, drizzleStore: typeof import("../stores/drizzle/index.js").drizzleStore) {
  switch (connection.dialect) {
    case "postgres":
      return drizzleStore({ db: connection.db });
    case "sqlite":
      return drizzleStore({ db: connection.db });
    case "mysql":
      return drizzleStore({ db: connection.db });
  }
}

/** ioredis on `url`, one try and no reconnect loop (a CLI should fail, not wait). */
export async function connectRedis(url: string, label: string) {
  const { Redis } = await import("ioredis").catch((error: unknown) => {
    throw failure('--redis-url needs the "ioredis" package: npm install ioredis', error);
  });
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
  return redis;
}
