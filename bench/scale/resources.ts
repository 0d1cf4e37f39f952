import type { Redis } from "ioredis";
import postgres from "postgres";
import { deletePrefix } from "../resources.js";

/**
 * Everything the run creates on the shared servers: its own databases and Redis prefixes,
 * recorded as they are made so that `release` removes them all, on failure too.
 */
export class Scratch {
  readonly #databases = new Set<string>();
  readonly #prefixes = new Set<string>();
  readonly #admin: postgres.Sql;

  constructor(
    readonly databaseUrl: string,
    readonly redis: Redis,
    readonly name: string,
    readonly redisPrefix: string,
  ) {
    this.#admin = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  }

  /**
   * Creates database `${name}_${suffix}`. From a template it is a file copy: seconds for gigabytes,
   * where seeding again would take a minute (the template must have no open connection).
   */
  async database(suffix: string, template?: string): Promise<string> {
    const name = `${this.name}_${suffix}`;
    this.#databases.add(name);
    const from = template === undefined ? "" : ` template "${template}" strategy file_copy`;
    await this.#admin.unsafe(`create database "${name}"${from}`);
    return name;
  }

  url(database: string): string {
    const url = new URL(this.databaseUrl);
    url.pathname = `/${database}`;
    return url.toString();
  }

  /** Drops a database as soon as its measurement is done: each is gigabytes in the full run. */
  async dropDatabase(name: string): Promise<void> {
    await this.#admin.unsafe(`drop database if exists "${name}" with (force)`);
    this.#databases.delete(name);
  }

  prefix(suffix: string): string {
    const prefix = `${this.redisPrefix}${suffix}:`;
    this.#prefixes.add(prefix);
    return prefix;
  }

  /** SCAN MATCH + UNLINK: only our own keys, freed by Redis in the background. */
  async deletePrefix(prefix: string): Promise<number> {
    const deleted = await deletePrefix(this.redis, prefix, 10_000);
    this.#prefixes.delete(prefix);
    return deleted;
  }

  /** Removes whatever is left; reports what it removed, never throws (it runs in `finally`). */
  async release(): Promise<string> {
    const databases = [...this.#databases];
    const prefixes = [...this.#prefixes];
    let keys = 0;
    for (const name of databases) await this.dropDatabase(name).catch(() => {});
    for (const prefix of prefixes) keys += await this.deletePrefix(prefix).catch(() => 0);
    await this.#admin.end({ timeout: 5 }).catch(() => {});
    return `dropped ${databases.length} databases, deleted ${keys} Redis keys`;
  }
}
