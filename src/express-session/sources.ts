import { SessionConfigError } from "../index.js";

/** One session as the legacy store holds it, before anything is parsed. */
export interface LegacyRecord {
  /** express-session's session id (the part of the cookie before the signature). */
  sid: string;
  /** The stored JSON text, or null when it could not be read (see `problem`). */
  json: string | null;
  /** Why `json` is null: a Redis key of another type under the prefix, or a value over `maxValueBytes`. */
  problem?: "not-a-string" | "too-large";
  /** When the legacy store forgets it (Redis TTL, connect-pg-simple's `expire`); null when it never does. */
  expiresAt: Date | null;
}

/** Where `importSessions` reads legacy sessions from: `connectRedisSource` or `connectPgSimpleSource`. */
export interface LegacySource {
  /** How many records `batches` will yield, for a progress bar; null when unknown. */
  count(): Promise<number | null>;
  /** The records, a batch at a time (one round trip each), each record once. */
  batches(): AsyncIterable<readonly LegacyRecord[]>;
}

/** The part of an ioredis client `connectRedisSource` uses (`new Redis(url)` fits). */
export interface LegacyRedisClient {
  scan(cursor: string, match: "MATCH", pattern: string, count: "COUNT", n: number): Promise<[string, string[]]>;
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

/** Options of `connectRedisSource`. */
export interface ConnectRedisSourceOptions {
  /** The Redis connect-redis wrote to. */
  redis: LegacyRedisClient;
  /** connect-redis's `prefix`. @default "sess:" */
  prefix?: string;
  /** Keys per SCAN and per read. @default 500 */
  batchSize?: number;
  /** A value longer than this is reported as too large without being read (memory stays bounded). @default 1048576 */
  maxValueBytes?: number;
}

/** The longest legacy value read by default: 1 MiB, far beyond any real login session. */
const DEFAULT_MAX_VALUE_BYTES = 1024 * 1024;

/** What one read of a batch returns at most (values over it wait for the next read), unless a single value is larger. */
const BATCH_BYTES = 16 * 1024 * 1024;

/**
 * Per key, in one round trip for a batch: its type, its remaining life in ms (PTTL: -1 none) and
 * its value, or its length when over the cap so that a 10 MB value is never sent. Values stop
 * being read once the reply holds `ARGV[2]` bytes: those keys come back as "defer" and are read
 * by the next call, so a reply stays bounded whatever the batch holds. A key gone since the SCAN
 * is type "none".
 */
const READ_BATCH = `
local cap = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local used = 0
local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key)['ok']
  if t ~= 'string' then
    out[i] = {t, -2, 0}
  else
    local pttl = redis.call('PTTL', key)
    local n = redis.call('STRLEN', key)
    if n > cap then out[i] = {t, pttl, n}
    elseif used > 0 and used + n > budget then out[i] = {'defer', 0, 0}
    else
      used = used + n
      out[i] = {t, pttl, redis.call('GET', key)}
    end
  end
end
return out`;

/**
 * Sessions connect-redis wrote: every key under `prefix` (SCAN, so Redis keeps serving), its
 * value the JSON express-session's `req.session` became, its TTL the session's expiry. Keys of
 * other types under the prefix are reported, not skipped silently. One Redis node (a script reads
 * each SCAN batch; on a cluster, run it against each primary).
 * @example const source = connectRedisSource({ redis: new Redis(process.env.OLD_REDIS_URL!) });
 */
export function connectRedisSource(options: ConnectRedisSourceOptions): LegacySource {
  const { redis } = options;
  const prefix = options.prefix ?? "sess:";
  const batchSize = options.batchSize ?? 500;
  const cap = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  const pattern = `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;

  async function* keys(): AsyncGenerator<string[]> {
    let cursor = "0";
    do {
      const [next, found] = await redis.scan(cursor, "MATCH", pattern, "COUNT", batchSize);
      cursor = next;
      // MATCH is a glob on bytes: keep only what really starts with the prefix.
      const own = found.filter((key) => key.startsWith(prefix) && key.length > prefix.length);
      if (own.length > 0) yield own;
    } while (cursor !== "0");
  }

  return {
    async count() {
      let total = 0;
      for await (const batch of keys()) total += batch.length;
      return total;
    },
    async *batches() {
      // SCAN may return a key twice (a rehash during the scan): each is read once.
      const seen = new Set<string>();
      for await (const found of keys()) {
        const fresh = found.filter((key) => !seen.has(key));
        for (const key of fresh) seen.add(key);
        if (fresh.length === 0) continue;
        const records: LegacyRecord[] = [];
        let pending = fresh;
        while (pending.length > 0) {
          const replies = (await redis.eval(READ_BATCH, pending.length, ...pending, cap, BATCH_BYTES)) as [
            string,
            number,
            string | number,
          ][];
          const now = Date.now();
          const deferred: string[] = [];
          for (const [i, key] of pending.entries()) {
            const [type, pttl, value] = replies[i] ?? ["none", -2, 0];
            if (type === "none") continue; // expired or deleted since the SCAN
            if (type === "defer") {
              deferred.push(key);
              continue;
            }
            const sid = key.slice(prefix.length);
            const expiresAt = pttl >= 0 ? new Date(now + pttl) : null;
            if (type !== "string") records.push({ sid, json: null, problem: "not-a-string", expiresAt });
            else if (typeof value !== "string") records.push({ sid, json: null, problem: "too-large", expiresAt });
            else records.push({ sid, json: value, expiresAt });
          }
          pending = deferred;
        }
        if (records.length > 0) yield records;
      }
    },
  };
}

/** Runs one parameterized query and returns its rows: `(text, params) => sql.unsafe(text, params)` (postgres.js) or `pool.query(text, params).then((r) => r.rows)` (pg). */
export type LegacyQuery = (text: string, params: (string | number)[]) => Promise<readonly Record<string, unknown>[]>;

/** Options of `connectPgSimpleSource`. */
export interface ConnectPgSimpleSourceOptions {
  /** Runs a query on the database connect-pg-simple wrote to. */
  query: LegacyQuery;
  /** connect-pg-simple's `tableName`. @default "session" */
  table?: string;
  /** connect-pg-simple's `schemaName`. @default "public" */
  schema?: string;
  /** Rows per query. @default 1000 */
  batchSize?: number;
  /** A value longer than this (as text) is reported as too large without being read. @default 1048576 */
  maxValueBytes?: number;
}

/**
 * Sessions connect-pg-simple wrote: the rows of its table (`sid`, `sess` json, `expire`), in `sid`
 * order by keyset pages, so each query is short. `expire` is a `timestamp` without time zone,
 * written in the connection's `TimeZone`: it is read back in this connection's, which must be the
 * same (the server's default, unless one of them set another).
 * @example const source = connectPgSimpleSource({ query: (text, params) => sql.unsafe(text, params) });
 */
export function connectPgSimpleSource(options: ConnectPgSimpleSourceOptions): LegacySource {
  const { query } = options;
  const table = `${identifier(options.schema ?? "public")}.${identifier(options.table ?? "session")}`;
  const batchSize = options.batchSize ?? 1000;
  const cap = options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES;
  return {
    async count() {
      const [row] = await query(`select count(*)::float8 as n from ${table}`, []);
      return Number(row?.n ?? 0);
    },
    async *batches() {
      let after = "";
      for (;;) {
        const rows = await query(
          `select sid, case when octet_length(sess::text) > $2 then null else sess::text end as sess,
             extract(epoch from expire::timestamptz)::float8 * 1000 as expire_ms
           from ${table} where sid > $1 order by sid limit $3`,
          [after, cap, batchSize],
        );
        if (rows.length === 0) return;
        yield rows.map((row): LegacyRecord => {
          const sid = String(row.sid);
          const expireMs = row.expire_ms === null ? null : Number(row.expire_ms);
          // 'infinity' never expires; '-infinity' (or junk) has always been expired, never "kept forever".
          const expiresAt =
            expireMs === null || expireMs === Number.POSITIVE_INFINITY
              ? null
              : new Date(Number.isFinite(expireMs) ? expireMs : 0);
          return typeof row.sess === "string"
            ? { sid, json: row.sess, expiresAt }
            : { sid, json: null, problem: "too-large", expiresAt };
        });
        after = String(rows[rows.length - 1]?.sid);
        if (rows.length < batchSize) return;
      }
    },
  };
}

/** A quoted SQL identifier. */
function identifier(name: string): string {
  if (typeof name !== "string" || name === "" || name.includes("\0")) {
    throw new SessionConfigError("connectPgSimpleSource: table and schema must be non-empty names");
  }
  return `"${name.replace(/"/g, '""')}"`;
}
