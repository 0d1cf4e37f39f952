import type { Redis } from "ioredis";
import pg from "pg";

async function admin(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

/** Creates database `name` on the server of `url`, records it in `created`, and returns its URL. */
export async function createAdminDatabase(url: string, name: string, created: string[]): Promise<string> {
  await admin(url, `create database "${name}"`);
  created.push(name);
  const own = new URL(url);
  own.pathname = `/${name}`;
  return own.toString();
}

/** Drops the databases, closing whatever connections a contender left open. */
export async function dropDatabases(url: string, names: readonly string[]): Promise<void> {
  for (const name of names) await admin(url, `drop database if exists "${name}" with (force)`).catch(() => {});
}

/** Unlinks every key under `prefix` (SCAN + UNLINK, never a FLUSH: the Redis is shared); returns how many. */
export async function deletePrefix(redis: Redis, prefix: string, batch = 1000): Promise<number> {
  let deleted = 0;
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", batch);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== "0");
  return deleted;
}
