import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { MySqlColumn } from "drizzle-orm/mysql-core";
import {
  SessionCorruptError,
  SessionLateWriteError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
  SessionValidationError,
} from "../../../errors.js";
import type { SessionStore, StoredData, StoredSession, Where } from "../../../store.js";
import type { DrizzleSessionStore, MysqlDb } from "../dialects.js";
import { checkMysqlClient } from "./client-check.js";
import { retryDeadlocks } from "./deadlock.js";
import { sessions } from "./default-table.js";
import { jsonDepth, MYSQL_MAX_ENTRY_DEPTH, mysqlEntryBytes } from "./json-size.js";
import { operatorQueries } from "./operator-queries.js";
import { escapedLength, LARGE_STATEMENT_BYTES, STATEMENT_MARGIN_BYTES } from "./packet-size.js";
import type { MysqlSessionsTable } from "./sessions-table.js";
import { checkTable, keyPath, okOf, rowsOf, whereConditions } from "./sql-helpers.js";
import { utc } from "./utc.js";

const utcOrNull = (date: Date | null) => (date === null ? null : utc(date));
/** A `datetime` as epoch ms, whatever the session `time_zone` (datetime has none); NULL for a zero or invalid date. */
const epochMs = (c: MySqlColumn) => sql`timestampdiff(microsecond, '1970-01-01 00:00:00', ${c}) div 1000`;

/** 1000-01-01 and 9999-12-31T23:59:59.999Z: the range of MySQL's `datetime`. */
const FIRST_WRITABLE_MS = Date.UTC(1000, 0, 1);
const LAST_WRITABLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The largest value of the `int` rev column. */
const INT_MAX = 2_147_483_647;

const corrupt = (what: string) => new SessionCorruptError(`drizzleStore: the session row's ${what}`);

/** A time column as read (epoch ms or NULL), as a Date a write could send back, else corrupt (B12). */
function timeOf(value: unknown): Date {
  const ms = value === null || value === undefined ? Number.NaN : Number(value);
  if (!(ms >= FIRST_WRITABLE_MS && ms <= LAST_WRITABLE_MS)) throw corrupt("time columns are not valid dates");
  return new Date(ms);
}

/**
 * Refuses, before writing anything, an entry nested deeper than MariaDB's JSON functions accept
 * (json-size.ts): sent anyway, `json_set` would store JSON null in its place. The core accepts
 * deeper values (MAX_DEPTH), so this is the write's own typed error, never a store outage.
 */
function checkDepth(data: StoredData): void {
  for (const [key, entry] of Object.entries(data)) {
    if (jsonDepth(JSON.stringify(entry)) > MYSQL_MAX_ENTRY_DEPTH) {
      throw new SessionValidationError(key, [
        {
          code: "too_deep",
          path: [],
          message: `MySQL/MariaDB store JSON nested at most ${MYSQL_MAX_ENTRY_DEPTH - 1} levels deep in a session value`,
        },
      ]);
    }
  }
}

/** Returned by the rotate transaction's callback to roll back when the old row is not live. */
class NotLive {}

/**
 * `drizzleStore` on a Drizzle MySQL/MariaDB database (mysql2). MySQL has no jsonb operators,
 * no UPDATE … RETURNING and no data-modifying CTEs; how each promise of the store seam is kept
 * instead (docs/decisions.md, "Drizzle dialects: MySQL/MariaDB"):
 * - `patch` is one UPDATE: `json_set(json_remove(data, paths…), path, value, …)` of the keys it
 *   changes, so concurrent saves of different keys all survive (InnoDB row lock; the UPDATE
 *   re-reads the newest row version). Its WHERE holds liveness, the late-write check and the size
 *   bound (B9), so the bound is checked on the row it writes. The new rev comes back in the same
 *   round trip as the OK packet's insert id: `rev = last_insert_id(rev + 1)`.
 * - every write renders `data` through MariaDB's JSON functions, so the stored text is always in
 *   one form and its length is Σ `entryBytes` (json-size.ts).
 * - `rotate` and `deleteWhere` are one transaction each (a pool connection).
 * - `get` throws `SessionCorruptError` for a row it cannot read: zero or invalid dates, `data`
 *   that is not a JSON object.
 * Grace-period shadows (rows with `successor_id`) are read-only: writes to them return null/false.
 *
 * @throws SessionConfigError when `table` is not a mysqlTable with every column, or `db` is a
 *   mysql2 database over a single connection instead of a pool (client-check.ts).
 */
export function mysqlStore(db: MysqlDb, table: MysqlSessionsTable | undefined): DrizzleSessionStore {
  checkMysqlClient(db);
  const t = table ?? sessions;
  const { indexed } = checkTable(t);
  const column = (c: { name: string }) => sql.identifier(c.name);
  // Every statement and transaction is re-run when InnoDB rolls it back as a deadlock's victim (deadlock.ts).
  const execute = async (query: SQL) => retryDeadlocks(() => db.execute(query) as Promise<unknown>);

  const live = (id: string, now: Date) => sql`${t.id} = ${id} and ${t.expiresAt} > ${utc(now)} and ${t.successorId} is null`;
  const onTime = (notAfter: Date | null | undefined) => {
    const at = notAfter == null ? null : utc(notAfter);
    return sql`(${at} is null or ${t.updatedAt} <= ${at})`;
  };
  const readColumns = sql`cast(${t.data} as char) as data, length(${t.data}) as bytes,
    ${epochMs(t.expiresAt)} as expires_at, ${epochMs(t.absoluteExpiresAt)} as absolute_expires_at,
    ${t.absoluteExpiresAt} is null as no_absolute, ${epochMs(t.createdAt)} as created_at,
    ${epochMs(t.updatedAt)} as updated_at, ${t.schemaVersion} as schema_version, ${t.rev} as rev,
    ${t.successorId} as successor_id, ${t.id} as id`;

  const decode = (row: Record<string, unknown>): StoredSession => {
    let data: unknown;
    try {
      data = JSON.parse(String(row.data));
    } catch {
      throw corrupt("data is not JSON");
    }
    if (typeof data !== "object" || data === null || Array.isArray(data)) throw corrupt("data is not a JSON object");
    const bytes = Number(row.bytes);
    const rev = Number(row.rev);
    // Every write sets rev + 1, which past INT_MAX fails (strict) or sticks at INT_MAX: the row
    // could never be written again, so every save of it would be an outage.
    if (!(rev < INT_MAX)) throw corrupt("rev is at the int column's maximum");
    return {
      id: String(row.id),
      data: data as StoredData,
      // The stored text is MariaDB's rendering, whose length is Σ entryBytes; "{}" has no entries.
      measuredBytes: bytes <= 2 ? 0 : bytes,
      expiresAt: timeOf(row.expires_at),
      absoluteExpiresAt: Number(row.no_absolute) === 1 ? null : timeOf(row.absolute_expires_at),
      createdAt: timeOf(row.created_at),
      updatedAt: timeOf(row.updated_at),
      schemaVersion: Number(row.schema_version),
      rev,
      successorId: row.successor_id === null ? null : String(row.successor_id),
    };
  };

  // json_extract(?, '$') renders the text as every JSON function does (see json-size.ts).
  const jsonText = (text: string) => sql`json_extract(${text}, '$')`;
  const jsonValue = (value: unknown) => jsonText(JSON.stringify(value));
  /** Refuses, before sending it, a statement carrying `bytes` of escaped values that the server would refuse and drop the connection for (packet-size.ts). */
  const checkPacket = async (bytes: number) => {
    if (bytes < LARGE_STATEMENT_BYTES) return;
    // Asked each time (large writes are rare): an operator may raise the limit at any time.
    const [row] = rowsOf(await execute(sql`select @@max_allowed_packet as n`));
    const limit = Number(row?.n);
    if (bytes + STATEMENT_MARGIN_BYTES > limit) throw new SessionTooLargeError(bytes, limit);
  };
  const insertRecord = (record: StoredSession, dataText = JSON.stringify(record.data)) =>
    sql`insert into ${t} (${column(t.id)}, ${column(t.data)}, ${column(t.expiresAt)}, ${column(t.absoluteExpiresAt)},
      ${column(t.createdAt)}, ${column(t.updatedAt)}, ${column(t.schemaVersion)}, ${column(t.rev)}, ${column(t.successorId)})
      values (${record.id}, ${jsonText(dataText)}, ${utc(record.expiresAt)}, ${utcOrNull(record.absoluteExpiresAt)},
      ${utc(record.createdAt)}, ${utc(record.updatedAt)}, ${record.schemaVersion}, ${record.rev}, ${record.successorId})`;

  /** The patch's merged data: the deleted keys removed, then the set keys written. The text varies only with the two counts. */
  const mergedOf = (set: StoredData, deleted: readonly string[]): SQL => {
    let merged = sql`${t.data}`;
    if (deleted.length > 0) {
      merged = sql`json_remove(${merged}, ${sql.join(
        deleted.map((key) => sql`${keyPath(key)}`),
        sql`, `,
      )})`;
    }
    const entries = Object.entries(set);
    if (entries.length > 0) {
      merged = sql`json_set(${merged}, ${sql.join(
        entries.map(([key, entry]) => sql`${keyPath(key)}, ${jsonValue(entry)}`),
        sql`, `,
      )})`;
    }
    return merged;
  };
  // B9, as postgres-store.ts: first the core's own figure when the row is still at its rev, then
  // the cheap sufficient bound (the row's text plus the set entries' own sizes: a replaced key
  // grows by at most its new entry, a new key by it and ", "), then the merged text itself. A
  // patch that does not grow the row is always applied (one `greatest`, so the statement holds
  // the merged expression, and the patch's values, twice rather than three times). An empty
  // record is "{}" (2 bytes).
  const fitsOf = (
    merged: SQL,
    setBytes: number,
    patch: { maxBytes: number; expected?: { rev: number; bytes: number } | undefined },
  ) => {
    const limit = Math.max(patch.maxBytes, 2);
    const expectedRev = patch.expected?.rev ?? null;
    const expectedBytes = patch.expected?.bytes ?? null;
    return sql`((${t.rev} = ${expectedRev} and ${expectedBytes} <= ${limit}) or length(${t.data}) + ${setBytes} <= ${limit}
      or length(${merged}) <= greatest(${limit}, length(${t.data})))`;
  };
  /** Only when a write matched no row: was it gone, late, or (for a patch) too large? */
  const explainMiss = async (id: string, now: Date, notAfter: Date | null | undefined, merged: SQL, fits: SQL) => {
    const [row] = rowsOf(
      await execute(sql`select (${t.expiresAt} > ${utc(now)} and ${t.successorId} is null) as live, ${onTime(notAfter)} as on_time,
        ${fits} as fits, length(${merged}) as bytes from ${t} where ${t.id} = ${id}`),
    );
    if (row === undefined) return undefined;
    return {
      live: Number(row.live) === 1,
      onTime: Number(row.on_time) === 1,
      fits: Number(row.fits) === 1,
      bytes: Number(row.bytes),
    };
  };

  return {
    async get(id, now) {
      const [row] = rowsOf(await execute(sql`select ${readColumns} from ${t} where ${t.id} = ${id}`));
      if (row === undefined) return null;
      const record = decode(row);
      if (record.expiresAt.getTime() > now.getTime()) return record;
      // Lazy delete, guarded on expiry so a row refreshed meanwhile survives; failing it is harmless.
      await execute(sql`delete from ${t} where ${t.id} = ${id} and ${t.expiresAt} <= ${utc(now)}`).catch(() => undefined);
      return null;
    },

    async create(record) {
      checkDepth(record.data);
      const dataText = JSON.stringify(record.data);
      await checkPacket(escapedLength(dataText));
      // A plain INSERT: an existing id is a duplicate-key error, never an overwrite.
      await execute(insertRecord(record, dataText));
    },

    async replace(record, now, notAfter?) {
      checkDepth(record.data);
      const dataText = JSON.stringify(record.data);
      await checkPacket(escapedLength(dataText));
      const result = await execute(sql`update ${t} set ${column(t.data)} = ${jsonText(dataText)},
        ${column(t.expiresAt)} = ${utc(record.expiresAt)}, ${column(t.absoluteExpiresAt)} = ${utcOrNull(record.absoluteExpiresAt)},
        ${column(t.createdAt)} = ${utc(record.createdAt)}, ${column(t.updatedAt)} = ${utc(record.updatedAt)},
        ${column(t.schemaVersion)} = ${record.schemaVersion}, ${column(t.rev)} = last_insert_id(${t.rev} + 1)
        where ${live(record.id, now)} and ${onTime(notAfter)}`);
      const ok = okOf(result);
      if (ok.matched > 0) return ok.insertId;
      const merged = sql`${t.data}`;
      const miss = await explainMiss(record.id, now, notAfter, merged, sql`1`);
      if (miss?.live && !miss.onTime) throw new SessionLateWriteError("drizzleStore");
      return null;
    },

    async patch(id, patch, now) {
      checkDepth(patch.set);
      const merged = mergedOf(patch.set, patch.deleted);
      let setBytes = 0;
      for (const [key, entry] of Object.entries(patch.set)) setBytes += mysqlEntryBytes(key, entry);
      // The statement carries each set value twice (the new data, and its length in the size bound);
      // escaping at most doubles a value's bytes, so only a patch that could be large is measured.
      if (4 * setBytes >= LARGE_STATEMENT_BYTES) {
        let bytes = 0;
        for (const entry of Object.values(patch.set)) bytes += 2 * escapedLength(JSON.stringify(entry));
        await checkPacket(bytes);
      }
      const fits = fitsOf(merged, setBytes, patch);
      const update = sql`update ${t} set ${column(t.data)} = ${merged}, ${column(t.expiresAt)} = ${utc(patch.expiresAt)},
        ${column(t.updatedAt)} = ${utc(patch.updatedAt)}, ${column(t.schemaVersion)} = ${patch.schemaVersion},
        ${column(t.rev)} = last_insert_id(${t.rev} + 1)
        where ${live(id, now)} and ${fits} and ${onTime(patch.notAfter)}`;
      // A concurrent patch can shrink the row between the miss and its explanation; then try again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const ok = okOf(await execute(update));
        if (ok.matched > 0) return ok.insertId;
        const miss = await explainMiss(id, now, patch.notAfter, merged, fits);
        if (miss === undefined || !miss.live) return null;
        if (!miss.onTime) throw new SessionLateWriteError("drizzleStore");
        if (!miss.fits) throw new SessionTooLargeError(miss.bytes, patch.maxBytes);
      }
      throw new SessionStoreError("drizzleStore: a patch kept losing races with concurrent patches");
    },

    entryBytes: mysqlEntryBytes,

    async touch(id, expiresAt, now) {
      // Only the expiry moves: the data is never rewritten by an activity refresh (R29).
      const result = await execute(sql`update ${t} set ${column(t.expiresAt)} = ${utc(expiresAt)} where ${live(id, now)}`);
      return okOf(result).matched > 0;
    },

    async rotate(oldId, record, graceUntil, now) {
      checkDepth(record.data);
      const dataText = JSON.stringify(record.data);
      await checkPacket(escapedLength(dataText));
      // No data-modifying CTEs in MySQL: one transaction. The retiring statement locks the old row
      // and matches only while it is live; a concurrent rotate of the same row waits for the lock
      // and then matches nothing. Any failure (the new id taken) rolls both back.
      const retire =
        graceUntil === null
          ? sql`delete from ${t} where ${live(oldId, now)}`
          : sql`update ${t} set ${column(t.data)} = json_object(), ${column(t.successorId)} = ${record.id},
              ${column(t.expiresAt)} = ${utc(graceUntil)}, ${column(t.rev)} = ${t.rev} + 1 where ${live(oldId, now)}`;
      try {
        await retryDeadlocks(() =>
          db.transaction(async (tx) => {
            if (okOf(await tx.execute(retire)).matched === 0) throw new NotLive();
            await tx.execute(insertRecord(record, dataText));
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof NotLive) return false;
        throw error;
      }
    },

    async delete(id) {
      await execute(sql`delete from ${t} where ${t.id} = ${id}`);
    },

    async find(where: Where, now, options = {}) {
      const conditions = whereConditions(t, indexed, where);
      const limit = options.limit === undefined ? sql`` : sql` limit ${options.limit}`;
      const rows = rowsOf(
        await execute(sql`select ${readColumns} from ${t}
          where ${t.expiresAt} > ${utc(now)} and ${t.successorId} is null
          ${sql.join(
            conditions.map((c) => sql` and ${c}`),
            sql``,
          )}
          order by ${t.updatedAt} desc${limit}`),
      );
      // A row `get` would report as corrupt is left out, as findMany leaves out data it cannot read.
      return rows.flatMap((row) => {
        try {
          return [decode(row)];
        } catch (error) {
          if (error instanceof SessionCorruptError) return [];
          throw error;
        }
      });
    },

    async deleteWhere(where, options = {}) {
      const conditions = whereConditions(t, indexed, where);
      // An empty filter would delete every session of every user: refuse it loudly.
      if (conditions.length === 0) throw new SessionUsageError("deleteWhere: `where` names no field");
      const except = options.exceptId === undefined ? sql`` : sql` and ${t.id} <> ${options.exceptId}`;
      // No DELETE … RETURNING in MySQL: the ids are locked and read, then deleted, in one transaction.
      return retryDeadlocks(() =>
        db.transaction(async (tx) => {
          const rows = rowsOf(
            await tx.execute(sql`select ${t.id} as id from ${t} where ${sql.join(conditions, sql` and `)}${except} for update`),
          );
          const ids = rows.map((row) => String(row.id));
          if (ids.length > 0) {
            await tx.execute(
              sql`delete from ${t} where ${t.id} in (${sql.join(
                ids.map((id) => sql`${id}`),
                sql`, `,
              )})`,
            );
          }
          return ids;
        }),
      );
    },

    async purgeExpired(now, batchSize) {
      // Each DELETE locks what it deletes; a concurrent purger waits on those rows, finds them
      // gone and does not count them, so every row is deleted (and counted) once.
      const result = await execute(
        sql`delete from ${t} where ${t.expiresAt} <= ${utc(now)} order by ${t.expiresAt} limit ${batchSize}`,
      );
      return okOf(result).matched;
    },

    ...operatorQueries(db, t, indexed),
  } satisfies SessionStore;
}
