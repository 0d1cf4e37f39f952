import { existsSync } from "node:fs";
import { Redis } from "ioredis";
import postgres from "postgres";
import { canStartPostgres } from "./postgres-server.js";
import { canStartRedis } from "./redis-server.js";

/**
 * Decides, once per run, which real-service suites can run. On a laptop without servers
 * `npm test` still passes on PGlite and says what it skipped and how to enable it; under
 * CI=true a missing service is a failure, never a skip.
 */
export default async function setup(): Promise<void> {
  const skipped: string[] = [];
  const url = process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    skipped.push(
      "Drizzle on a real PostgreSQL (postgres-js and node-postgres drivers): set DATABASE_URL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test",
    );
  } else {
    const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
    try {
      await sql`select 1`;
    } catch (error) {
      throw new Error(`DATABASE_URL is set but PostgreSQL does not answer: ${(error as Error).message}`);
    } finally {
      await sql.end({ timeout: 1 });
    }
  }
  const redis = process.env.REDIS_URL;
  if (redis === undefined || redis === "") {
    skipped.push("Redis store and Redis cache on a real Redis: set REDIS_URL, e.g. REDIS_URL=redis://127.0.0.1:6379");
  } else {
    const client = new Redis(redis, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
    } catch (error) {
      throw new Error(`REDIS_URL is set but Redis does not answer: ${(error as Error).message}`);
    } finally {
      client.disconnect();
    }
  }
  const mysqlUrl = process.env.MYSQL_URL;
  if (mysqlUrl === undefined || mysqlUrl === "") {
    skipped.push(
      "Drizzle on a real MySQL/MariaDB (mysql2 driver): set MYSQL_URL, e.g. MYSQL_URL=mysql://root@127.0.0.1:3306/test",
    );
  } else {
    const { createConnection } = await import("mysql2/promise");
    try {
      const connection = await createConnection({ uri: mysqlUrl, connectTimeout: 5000 });
      await connection.query("select 1");
      await connection.end();
    } catch (error) {
      throw new Error(`MYSQL_URL is set but MySQL/MariaDB does not answer: ${(error as Error).message}`);
    }
  }
  if (!canStartRedis) {
    skipped.push("Redis Cluster and Redis outage tests (they start their own servers): install redis-server on the PATH");
  }
  if (!canStartPostgres) {
    skipped.push(
      "PostgreSQL restart tests (they create their own cluster): put initdb and pg_ctl on the PATH (and, as root, have a postgres user)",
    );
  }
  if (!existsSync("/usr/bin/chromium")) {
    skipped.push("the browser e2e test: install chromium (Debian package `chromium`)");
  }
  if (skipped.length > 0 && process.env.CI === "true") {
    throw new Error(`CI=true but these suites cannot run:\n- ${skipped.join("\n- ")}`);
  }
  if (skipped.length === 0) return;
  const notice = `Skipped suites (no server configured); PGlite, SQLite and memory suites ran:\n- ${skipped.join("\n- ")}`;
  console.warn(`\n${notice}\n`);
  // Shown again by the summary reporter just above the closing line, where nobody misses it.
  process.env.TESSERA_SKIPPED_NOTICE = notice;
}
