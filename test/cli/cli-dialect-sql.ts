import { createToken, hashToken } from "../../src/token.js";

/** Raw SQL through the test's own connection: `$1` placeholders on Postgres, `?` on SQLite and MySQL. */
export type Query = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

export type DialectKind = "postgres" | "sqlite" | "mysql";

/** A row in Tessera's format, times relative to now. */
export interface Row {
  data: Record<string, unknown>;
  /** Negative: already expired. */
  expiresInSeconds: number;
  createdSecondsAgo: number;
}

/** What `stats` computes, computed by the test in the dialect's own SQL. */
export interface SqlStats {
  live: number;
  expired: number;
  createdLastHour: number;
  createdLastDay: number;
  bytes: { p50: number; p95: number; max: number };
}

/** What `tesserae migrate` left, read from the dialect's catalog. */
export interface Migrated {
  /** The `sessions` table exists. */
  sessions: boolean;
  /** Rows in `__tessera_migrations`. */
  recorded: number;
  /** Names of the indexes on `sessions`. */
  indexes: string[];
}

/**
 * The SQL of the CLI suite on one dialect: the suite checks the CLI against the database, and
 * each dialect spells times, sizes, catalogs and bulk inserts its own way (SQLite keeps times as
 * epoch milliseconds and data as JSON text, MySQL `datetime(3)` in UTC and `json`).
 */
export interface SuiteSql {
  kind: DialectKind;
  /** Condition: the row's session is live (`expires_at` after now). */
  live: string;
  /** Rows of `table` that meet `condition`. */
  count(condition?: string, table?: string): Promise<number>;
  /** Inserts rows with real-looking ids (sha256 of a fresh token); returns the ids. */
  insertRows(table: string, rows: readonly Row[]): Promise<string[]>;
  /** `n` expired and `n` live sessions in `sessions`, ids `e0…<n>` and `f0…<n>` (64 hex digits). */
  seed(n: number): Promise<void>;
  /** `stats` in SQL, with the definitions of docs/cli.md. */
  stats(table: string): Promise<SqlStats>;
  /** The live sessions per `user_id` of `cli_sessions`, most first, at most 10. */
  topUsers(): Promise<{ value: unknown; sessions: number }[]>;
  migrated(): Promise<Migrated>;
  /** Back to a database that never saw Tessera: no sessions table, no migrations recorded. */
  unmigrate(): Promise<void>;
  /** Creates `table` (a sessionsTable of the dialect) from its Drizzle definition, as drizzle-kit would. */
  createTable(table: unknown): Promise<void>;
}

/** Part of the database's own message for a missing table. */
export function missingTable(kind: DialectKind, table: string): string {
  if (kind === "postgres") return `relation "${table}" does not exist`;
  return kind === "sqlite" ? `no such table: ${table}` : `.${table}' doesn't exist`;
}

/** Condition matching the live ids of `seed`: sha256s never start with ten zeros after the `f`. */
export const SEEDED_LIVE = "id like 'f0000000000%'";

const SEEDED_DATA = '{"seeded":{"json":true}}';

/** Session fields as Tessera stores them: each value under `json`. */
export const encoded = (fields: Record<string, unknown>) =>
  JSON.stringify(Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, { json: value }])));

/** The `p` percentile as SQL's percentile_disc: the first value whose cumulative share reaches `p`. */
function percentileDisc(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? 0;
}

export function suiteSql(kind: DialectKind, query: Query): SuiteSql {
  const count = async (condition = "true", table = "sessions") =>
    Number((await query(`select count(*) as n from ${table} where ${condition}`))[0]?.n);
  const common = { kind, count };
  if (kind === "postgres") return { ...common, ...postgresSql(query) };
  if (kind === "sqlite") return { ...common, ...sqliteSql(query, count) };
  return { ...common, ...mysqlSql(query, count) };
}

type Specific = Omit<SuiteSql, "kind" | "count">;

/** Stats from each row's size and times, percentiles in JS (SQLite and MariaDB have no percentile_disc aggregate). */
async function statsOfRows(
  query: Query,
  table: string,
  fragments: { size: string; live: string; hourAgo: string; dayAgo: string },
): Promise<SqlStats> {
  const rows = await query(
    `select ${fragments.size} as size, case when ${fragments.live} then 1 else 0 end as live,
            case when created_at > ${fragments.hourAgo} then 1 else 0 end as hour,
            case when created_at > ${fragments.dayAgo} then 1 else 0 end as day
     from ${table}`,
  );
  const live = rows.filter((row) => Number(row.live) === 1);
  const sizes = live.map((row) => Number(row.size)).sort((a, b) => a - b);
  return {
    live: live.length,
    expired: rows.length - live.length,
    createdLastHour: rows.filter((row) => Number(row.hour) === 1).length,
    createdLastDay: rows.filter((row) => Number(row.day) === 1).length,
    bytes: { p50: percentileDisc(sizes, 0.5), p95: percentileDisc(sizes, 0.95), max: sizes.at(-1) ?? 0 },
  };
}

function postgresSql(query: Query): Specific {
  return {
    live: "expires_at > now()",
    async insertRows(table, rows) {
      const ids: string[] = [];
      for (const row of rows) {
        const id = hashToken(createToken());
        await query(
          `insert into ${table} (id, data, expires_at, created_at, updated_at, schema_version, rev)
           values ($1, $2::jsonb, now() + $3::int * interval '1 second', now() - $4::int * interval '1 second',
                   now() - $4::int * interval '1 second', 1, 1)`,
          [id, encoded(row.data), row.expiresInSeconds, row.createdSecondsAgo],
        );
        ids.push(id);
      }
      return ids;
    },
    async seed(n) {
      // In id order, which fills the primary key ~1.5 s faster on the server than sha256s would.
      const idOf = (prefix: string) => `'${prefix}' || lpad(to_hex(g), 63, '0')`;
      await query(
        `insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
         select ${idOf("e")}, '${SEEDED_DATA}'::jsonb, now() - interval '1 hour',
                now() - interval '3 hours', now() - interval '3 hours', 1, 1 from generate_series(1, $1::int) g
         union all
         select ${idOf("f")}, '${SEEDED_DATA}'::jsonb, now() + interval '1 day',
                now() - interval '3 hours', now() - interval '3 hours', 1, 1 from generate_series(1, $1::int) g`,
        [n],
      );
    },
    async stats(table) {
      const size = "octet_length(data::text)";
      const [row] = await query(`
        select
          count(*) filter (where expires_at > now())::int as live,
          count(*) filter (where expires_at <= now())::int as expired,
          count(*) filter (where created_at > now() - interval '1 hour')::int as hour,
          count(*) filter (where created_at > now() - interval '1 day')::int as day,
          (percentile_disc(0.5) within group (order by ${size}) filter (where expires_at > now()))::int as p50,
          (percentile_disc(0.95) within group (order by ${size}) filter (where expires_at > now()))::int as p95,
          (max(${size}) filter (where expires_at > now()))::int as max
        from ${table}`);
      if (row === undefined) throw new Error("no stats row");
      return {
        live: row.live as number,
        expired: row.expired as number,
        createdLastHour: row.hour as number,
        createdLastDay: row.day as number,
        bytes: { p50: row.p50 as number, p95: row.p95 as number, max: row.max as number },
      };
    },
    topUsers: () => topUsers(query, "expires_at > now()"),
    async migrated() {
      const [table] = await query("select to_regclass('public.sessions')::text as t");
      const [recorded] = await query(`select count(*)::int as n from drizzle."__tessera_migrations"`);
      const indexes = await query("select indexname from pg_indexes where tablename = 'sessions'");
      return {
        sessions: table?.t === "sessions",
        recorded: Number(recorded?.n),
        indexes: indexes.map((row) => String(row.indexname)),
      };
    },
    async unmigrate() {
      await query("drop table sessions");
      await query("drop schema drizzle cascade");
    },
    async createTable(table) {
      const { generateDrizzleJson, generateMigration } = await import("drizzle-kit/api");
      for (const statement of await generateMigration(generateDrizzleJson({}), generateDrizzleJson({ table }))) {
        await query(statement);
      }
    },
  };
}

/** SQLite: times are integer epoch milliseconds, data JSON text. */
function sqliteSql(query: Query, count: SuiteSql["count"]): Specific {
  const now = "cast(unixepoch('subsec') * 1000 as integer)";
  const live = `expires_at > ${now}`;
  return {
    live,
    async insertRows(table, rows) {
      const ids: string[] = [];
      for (const row of rows) {
        const id = hashToken(createToken());
        await query(
          `insert into ${table} (id, data, expires_at, created_at, updated_at, schema_version, rev)
           values (?, ?, ${now} + ? * 1000, ${now} - ? * 1000, ${now} - ? * 1000, 1, 1)`,
          [id, encoded(row.data), row.expiresInSeconds, row.createdSecondsAgo, row.createdSecondsAgo],
        );
        ids.push(id);
      }
      return ids;
    },
    async seed(n) {
      for (const [prefix, expires] of [
        ["e", `${now} - 3600000`],
        ["f", `${now} + 86400000`],
      ] as const) {
        await query(
          `with recursive g(n) as (select 1 union all select n + 1 from g where n < ?)
           insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
           select '${prefix}' || printf('%063x', n), '${SEEDED_DATA}', ${expires}, ${now} - 10800000, ${now} - 10800000, 1, 1 from g`,
          [n],
        );
      }
    },
    stats: (table) =>
      statsOfRows(query, table, {
        size: "length(cast(data as blob))",
        live,
        hourAgo: `${now} - 3600000`,
        dayAgo: `${now} - 86400000`,
      }),
    topUsers: () => topUsers(query, live),
    async migrated() {
      const tables = await query("select name from sqlite_master where type = 'table' and name = 'sessions'");
      const indexes = await query("select name from sqlite_master where type = 'index' and tbl_name = 'sessions'");
      return {
        sessions: tables.length === 1,
        recorded: await count("true", `"__tessera_migrations"`),
        indexes: indexes.map((row) => String(row.name)),
      };
    },
    async unmigrate() {
      await query("drop table sessions");
      await query(`drop table "__tessera_migrations"`);
    },
    async createTable(table) {
      const { generateSQLiteDrizzleJson, generateSQLiteMigration } = await import("drizzle-kit/api");
      const statements = await generateSQLiteMigration(
        await generateSQLiteDrizzleJson({}),
        await generateSQLiteDrizzleJson({ table }),
      );
      for (const statement of statements) await query(statement);
    },
  };
}

/** MySQL/MariaDB: times are `datetime(3)` in UTC, data `json`. */
function mysqlSql(query: Query, count: SuiteSql["count"]): Specific {
  const now = "utc_timestamp(3)";
  const live = `expires_at > ${now}`;
  return {
    live,
    async insertRows(table, rows) {
      const ids: string[] = [];
      for (const row of rows) {
        const id = hashToken(createToken());
        await query(
          `insert into ${table} (id, data, expires_at, created_at, updated_at, schema_version, rev)
           values (?, ?, ${now} + interval ? second, ${now} - interval ? second, ${now} - interval ? second, 1, 1)`,
          [id, encoded(row.data), row.expiresInSeconds, row.createdSecondsAgo, row.createdSecondsAgo],
        );
        ids.push(id);
      }
      return ids;
    },
    async seed(n) {
      // MariaDB's sequence engine: seq_1_to_<n> is a table of 1..n.
      for (const [prefix, expires] of [
        ["e", `${now} - interval 1 hour`],
        ["f", `${now} + interval 1 day`],
      ] as const) {
        await query(
          `insert into sessions (id, data, expires_at, created_at, updated_at, schema_version, rev)
           select concat('${prefix}', lpad(lower(hex(seq)), 63, '0')), '${SEEDED_DATA}', ${expires},
                  ${now} - interval 3 hour, ${now} - interval 3 hour, 1, 1 from seq_1_to_${Math.trunc(n)}`,
        );
      }
    },
    stats: (table) =>
      statsOfRows(query, table, {
        size: "length(data)",
        live,
        hourAgo: `${now} - interval 1 hour`,
        dayAgo: `${now} - interval 1 day`,
      }),
    topUsers: () => topUsers(query, live),
    async migrated() {
      const tables = await query(
        "select table_name from information_schema.tables where table_schema = database() and table_name = 'sessions'",
      );
      const indexes = await query(
        "select index_name as name from information_schema.statistics where table_schema = database() and table_name = 'sessions'",
      );
      return {
        sessions: tables.length === 1,
        recorded: await count("true", "`__tessera_migrations`"),
        indexes: indexes.map((row) => String(row.name)),
      };
    },
    async unmigrate() {
      await query("drop table sessions");
      await query("drop table `__tessera_migrations`");
    },
    async createTable(table) {
      const { generateMySQLDrizzleJson, generateMySQLMigration } = await import("drizzle-kit/api");
      const statements = await generateMySQLMigration(
        await generateMySQLDrizzleJson({}),
        await generateMySQLDrizzleJson({ table }),
      );
      for (const statement of statements) await query(statement);
    },
  };
}

async function topUsers(query: Query, live: string) {
  const rows = await query(
    `select user_id as value, count(*) as sessions from cli_sessions
       where ${live} and user_id is not null
       group by user_id order by count(*) desc, user_id limit 10`,
  );
  return rows.map((row) => ({ value: row.value, sessions: Number(row.sessions) }));
}
