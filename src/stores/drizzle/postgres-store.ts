import type { Placeholder, SQL } from "drizzle-orm";
import { and, desc, eq, isNull, lte, ne, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import {
  SessionCorruptError,
  SessionLateWriteError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
} from "../../errors.js";
import type { SessionStore, StoredData, StoredSession, Where } from "../../store.js";
import { utf8Length } from "../../utf8.js";
import { sessions } from "./default-table.js";
import type { DrizzleSessionStore, PostgresDb } from "./dialects.js";
import { fixedStatement } from "./fixed-statement.js";
import { jsonbEntryBytes } from "./jsonb-size.js";
import { operatorQueries } from "./operator-queries.js";
import type { SessionsTable } from "./sessions-table.js";
import { checkTable, rowsOf, whereConditions } from "./sql-helpers.js";

/**
 * B12: the columns are typed, so Postgres itself keeps most garbage out; what it does accept and
 * the store could not write back makes the record unreadable: corrupt. That is a time a Date
 * cannot hold (`'infinity'`, years past 275760), and one outside years 1 to 9999, whose
 * `toISOString()` (`-000001-…`, `+010000-…`) Postgres refuses: loaded, such a row would fail
 * its next write as a store outage. So does `data` that is not a JSON object (checked in SQL,
 * see `get`). Entries inside it are the core's to judge (`onInvalid`, per key).
 */
function checkTimes(row: Pick<StoredSession, "expiresAt" | "createdAt" | "updatedAt" | "absoluteExpiresAt">): void {
  for (const time of [row.expiresAt, row.createdAt, row.updatedAt, row.absoluteExpiresAt]) {
    if (time === null) continue;
    const ms = time instanceof Date ? time.getTime() : Number.NaN;
    if (!(ms >= FIRST_WRITABLE_MS && ms <= LAST_WRITABLE_MS)) {
      throw new SessionCorruptError("drizzleStore: a time column of the session row is not a valid date");
    }
  }
}

/** 0001-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z: the times `toISOString()` writes as Postgres reads them. */
// A literal: Date.UTC reads years 0-99 as 1900-1999.
const FIRST_WRITABLE_MS = -62_135_596_800_000;
const LAST_WRITABLE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const placeholder = (name: string) => sql.placeholder(name);
// Placeholders skip Drizzle's column encoders (and postgres-js does not serialise a Date the
// drizzle way), so every time goes in as an ISO string with an explicit cast on every driver.
const ts = (name: string) => sql`${placeholder(name)}::timestamptz`;
const json = (name: string) => sql`${placeholder(name)}::jsonb`;
const int = (name: string) => sql`${placeholder(name)}::integer`;
const iso = (date: Date | null) => (date === null ? null : date.toISOString());
/**
 * A `text[]` literal: sent as text, every driver passes it through unchanged, where a JavaScript
 * array goes through each driver's own array encoding (postgres.js with a `transform` option
 * sent `["cart"]` as `cart`, which Postgres refused).
 */
const textArray = (items: readonly string[]) =>
  `{${items.map((item) => `"${item.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`).join(",")}}`;
// Number(): a driver may hand float8 over as text.
const dateOf = (epochMs: unknown) => new Date(Number(epochMs));

/**
 * `drizzleStore` on a Drizzle Postgres database. `get`, `create`, `patch`, `replace`, `touch`,
 * `delete` and `purgeExpired` are prepared once per store (named per table), so the hot path costs
 * one prepared statement. Each method is one statement and so atomic on its own:
 * - `patch` merges `set` into `data`, removes `deleted` and bumps `rev` in one `UPDATE` of a live
 *   row, so concurrent saves to different keys all survive; it never inserts. The same `UPDATE`
 *   refuses a patch that would grow `data` past `maxBytes` (B9), measured as `jsonb`'s text
 *   (`entryBytes`); only then, or for a gone row, a second query tells which it was.
 * - `get` throws `SessionCorruptError` for a row it cannot read (B12): times a `Date` cannot hold,
 *   `data` that is not a JSON object.
 * - `replace` and `touch` are update-only too (`touch` writes only `expires_at`).
 * - `rotate` retires the old row and inserts the new one in one data-modifying CTE.
 * - `get` returns an expired row never; it then deletes it in a second statement (not atomic
 *   with the read, and guarded so a concurrently refreshed row survives).
 * Grace-period shadows (rows with `successor_id`) are read-only: writes to them return null/false.
 *
 * @throws SessionConfigError when `table` is not a pgTable with every column.
 */
export function postgresStore(db: PostgresDb, table: SessionsTable | undefined): DrizzleSessionStore {
  const t = table ?? sessions;
  const { name, indexed } = checkTable(t);
  const column = (c: { name: string }) => sql.identifier(c.name);
  // pg rejects one statement name reused for another text, so names are per (schema, table).
  const prepared = (what: string) => `tessera_${what}_${name}`;

  const selection = {
    id: t.id,
    data: t.data,
    expiresAt: t.expiresAt,
    absoluteExpiresAt: t.absoluteExpiresAt,
    createdAt: t.createdAt,
    updatedAt: t.updatedAt,
    schemaVersion: t.schemaVersion,
    rev: t.rev,
    successorId: t.successorId,
  };
  const liveRow = (id: Placeholder | string, now: Placeholder | string): SQL =>
    sql`${t.id} = ${id} and ${t.expiresAt} > ${now}::timestamptz and ${t.successorId} is null`;

  // Times leave the database as epoch milliseconds: a number on every driver whatever its
  // timestamp parser or the server's DateStyle, and cheaper to decode than text. `floor` keeps
  // what parsing the text kept (whole milliseconds); 'infinity' comes out as Infinity, an
  // invalid Date (B12).
  const epochMs = (c: PgColumn) => sql`floor(extract(epoch from ${c}) * 1000)::float8`;
  const getStatement = fixedStatement(
    db,
    prepared("get"),
    // jsonb_typeof: only Postgres still knows whether `data` held an object or a string of JSON
    // text. `data` is read as its text, parsed here as a driver would, so its length is known:
    // the record's size by `jsonbEntryBytes` (B9) at no cost, where measuring the parsed entries
    // again took ~9 µs of each write's client time.
    (p) => sql`select ${t.data}::text, jsonb_typeof(${t.data}), ${epochMs(t.expiresAt)}, ${epochMs(t.absoluteExpiresAt)},
      ${epochMs(t.createdAt)}, ${epochMs(t.updatedAt)}, ${t.schemaVersion}, ${t.rev}, ${t.successorId}
      from ${t} where ${t.id} = ${p("id")}`,
  );
  // The columns a whole-record write sets, for create (with id, rev, successor) and replace (rev + 1).
  const wholeRecord = {
    data: json("data"),
    expiresAt: ts("expiresAt"),
    absoluteExpiresAt: ts("absoluteExpiresAt"),
    createdAt: ts("createdAt"),
    updatedAt: ts("updatedAt"),
    schemaVersion: int("schemaVersion"),
  };
  const createQuery = db
    .insert(t)
    .values({
      id: placeholder("id"),
      ...wholeRecord,
      rev: int("rev"),
      successorId: sql`${placeholder("successorId")}::text`,
    })
    .prepare(prepared("create"));
  // B9: the size check sits in the UPDATE's own WHERE, over the merged value written inline, so
  // it is evaluated on the row being updated: after a concurrent patch commits, Postgres
  // re-checks WHERE on the newer row (EvalPlanQual), where a FROM subquery would keep the
  // statement's stale snapshot and let two patches together grow the row past the limit.
  // Sizes are of jsonb's text form (`jsonbEntryBytes`). An empty record is `{}` (2 bytes) and a
  // patch that does not grow a record already over the limit goes through (see `patch`).
  const live = (p: (name: string) => SQL) =>
    sql`${t.id} = ${p("id")} and ${t.expiresAt} > ${p("now")}::timestamptz and ${t.successorId} is null`;
  const patchTerms = (p: (name: string) => SQL) => {
    const set = sql`${p("set")}::jsonb`;
    const merged = sql`((${t.data} - ${p("deleted")}::text[]) || ${set})`;
    const limit = sql`greatest(${p("maxBytes")}::bigint, 2)`;
    const notAfter = sql`${p("notAfter")}::timestamptz`;
    return {
      merged,
      // First, the core's own figure (`SessionPatch.expected`), when the row is still at the rev
      // the core computed it from: Σ jsonbEntryBytes over the merged entries is the merged value's
      // text length (`jsonb-size.ts`), with no text built here. Turning a 1 KB jsonb into text
      // was most of a patch's server time. At any other rev (a concurrent patch committed first:
      // Postgres re-checks WHERE on the newer row) the row is measured. The next test is a
      // cheaper sufficient one, tried before building the merged value's text (twice): the merged
      // text is never longer than the row's plus the patch's, both in jsonb's own text form (a
      // replaced key grows by at most its new entry, a new key by it and ", "). Server time per
      // patch of a 1 KB row: 61-69 -> 49-58 µs (psql, 5,000 UPDATEs, synchronous_commit off).
      fits: sql`((${t.rev} = ${p("expectedRev")}::integer and ${p("expectedBytes")}::bigint <= ${limit}) or octet_length(${t.data}::text) + octet_length(${set}::text) <= ${limit} or octet_length(${merged}::text) <= ${limit} or octet_length(${merged}::text) <= octet_length(${t.data}::text))`,
      // A write that arrives after its caller gave up (a driver holding it through a reconnect)
      // must not undo a newer one: it is refused once a call stamped after its deadline wrote the row.
      onTime: sql`(${notAfter} is null or ${t.updatedAt} <= ${notAfter})`,
    };
  };
  // Each value is one parameter however often the text uses it: the patch's `set` is sent once.
  const patchStatement = fixedStatement(db, prepared("patch"), (p) => {
    const { merged, fits, onTime } = patchTerms(p);
    return sql`update ${t} set ${column(t.data)} = ${merged}, ${column(t.expiresAt)} = ${p("expiresAt")}::timestamptz,
      ${column(t.updatedAt)} = ${p("updatedAt")}::timestamptz, ${column(t.schemaVersion)} = ${p("schemaVersion")}::integer,
      ${column(t.rev)} = ${t.rev} + 1
      where ${live(p)} and ${fits} and ${onTime} returning ${t.rev}`;
  });
  // Only when the patch matched no row: was the row gone, or would the patch have grown it too large?
  const patchMissStatement = fixedStatement(db, prepared("patch_miss"), (p) => {
    const { merged, fits, onTime } = patchTerms(p);
    return sql`select ${t.expiresAt} > ${p("now")}::timestamptz and ${t.successorId} is null, ${onTime}, ${fits},
      octet_length(${merged}::text) from ${t} where ${t.id} = ${p("id")}`;
  });
  const patchMiss = async (values: Record<string, unknown>) => {
    const [row] = await patchMissStatement.execute(values);
    if (row === undefined) return undefined;
    const [live, onTime, fits, bytes] = row;
    return { live: live === true, onTime: onTime === true, fits: fits === true, bytes: Number(bytes) };
  };
  const named = (key: string) => sql`${placeholder(key)}`;
  const replaceQuery = db
    .update(t)
    .set({ ...wholeRecord, rev: sql`${t.rev} + 1` })
    .where(and(live(named), sql`(${ts("notAfter")} is null or ${t.updatedAt} <= ${ts("notAfter")})`))
    .returning({ rev: t.rev })
    .prepare(prepared("replace"));
  // Only the expiry moves: the data blob is never rewritten by an activity refresh (R29).
  const touchStatement = fixedStatement(
    db,
    prepared("touch"),
    (p) => sql`update ${t} set ${column(t.expiresAt)} = ${p("expiresAt")}::timestamptz where ${live(p)} returning 1`,
  );
  const deleteQuery = db
    .delete(t)
    .where(eq(t.id, placeholder("id")))
    .prepare(prepared("delete"));
  // SKIP LOCKED: concurrent purgers (N instances, the CLI) split the rows instead of queueing
  // on each other, and RETURNING counts only what this call deleted. The locked rows are deleted
  // where they were found (ctid), not looked up again by id: 37 ms instead of 109 ms for 10,000
  // rows (EXPLAIN ANALYZE, bench/RESULTS.md). The repeated expiry test keeps a ctid that names a
  // row of another partition of a hand-partitioned table from matching; it is written so that no
  // index can serve it (`+ interval '0 s'`): with statistics taken while the rows were live, the
  // planner otherwise walks the expires_at index and tests every expired row against the array
  // (5.4 s instead of 8 ms for a 5,000-row batch among 200,000 expired rows).
  const purgeQuery = db
    .delete(t)
    .where(
      sql`ctid = any(array(${db
        .select({ ctid: sql`ctid` })
        .from(t)
        .where(sql`${t.expiresAt} <= ${ts("now")}`)
        .limit(placeholder("limit"))
        .for("update", { skipLocked: true })})) and (${t.expiresAt} + interval '0 s') <= ${ts("now")}`,
    )
    .returning({ id: t.id })
    .prepare(prepared("purge"));

  const recordParams = (record: StoredSession) => ({
    id: record.id,
    data: JSON.stringify(record.data),
    expiresAt: record.expiresAt.toISOString(),
    absoluteExpiresAt: iso(record.absoluteExpiresAt),
    createdAt: record.createdAt.toISOString(),
    updatedAt: record.updatedAt.toISOString(),
    schemaVersion: record.schemaVersion,
    rev: record.rev,
    successorId: record.successorId,
  });

  return {
    async get(id, now) {
      const [found] = await getStatement.execute({ id });
      if (found === undefined) return null;
      const [data, dataType, expiresAt, absoluteExpiresAt, createdAt, updatedAt, schemaVersion, rev, successorId] = found;
      if (dataType !== "object" || typeof data !== "string") {
        throw new SessionCorruptError("drizzleStore: the session row's data is not a JSON object");
      }
      const row: StoredSession = {
        id,
        data: JSON.parse(data) as StoredData,
        // jsonb's text of an object is Σ jsonbEntryBytes over its entries; "{}" has none.
        measuredBytes: data === "{}" ? 0 : utf8Length(data),
        expiresAt: dateOf(expiresAt),
        absoluteExpiresAt: absoluteExpiresAt === null ? null : dateOf(absoluteExpiresAt),
        createdAt: dateOf(createdAt),
        updatedAt: dateOf(updatedAt),
        schemaVersion: schemaVersion as number,
        rev: rev as number,
        successorId: successorId as string | null,
      };
      checkTimes(row);
      if (row.expiresAt.getTime() > now.getTime()) return row;
      // Lazy delete, guarded on expiry so a row refreshed meanwhile survives. Failing it is
      // harmless (the row is never returned and purgeExpired gets it), so the load goes on.
      await db
        .delete(t)
        .where(and(eq(t.id, id), lte(t.expiresAt, now)))
        .catch(() => undefined);
      return null;
    },

    async create(record) {
      // A plain INSERT: an existing id is a unique violation, never an overwrite.
      await createQuery.execute(recordParams(record));
    },

    async replace(record, now, notAfter?) {
      const params = { ...recordParams(record), now: now.toISOString(), notAfter: notAfter?.toISOString() ?? null };
      const [row] = await replaceQuery.execute(params);
      if (row !== undefined) return row.rev;
      const miss = await patchMiss({ ...params, deleted: "{}", set: "{}", maxBytes: 0, expectedRev: null, expectedBytes: null });
      if (miss?.live && !miss.onTime) throw new SessionLateWriteError("drizzleStore");
      return null;
    },

    async patch(id, patch, now) {
      const params = {
        id,
        now: now.toISOString(),
        deleted: textArray(patch.deleted),
        set: JSON.stringify(patch.set),
        expiresAt: patch.expiresAt.toISOString(),
        updatedAt: patch.updatedAt.toISOString(),
        schemaVersion: patch.schemaVersion,
        maxBytes: patch.maxBytes,
        notAfter: patch.notAfter?.toISOString() ?? null,
        expectedRev: patch.expected?.rev ?? null,
        expectedBytes: patch.expected?.bytes ?? null,
      };
      // A concurrent patch can shrink the row between the miss and its explanation; then try again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const [row] = await patchStatement.execute(params);
        if (row !== undefined) return row[0] as number;
        const miss = await patchMiss(params);
        if (miss === undefined || !miss.live) return null;
        if (!miss.onTime) throw new SessionLateWriteError("drizzleStore");
        if (!miss.fits) throw new SessionTooLargeError(miss.bytes, patch.maxBytes);
      }
      throw new SessionStoreError("drizzleStore: a patch kept losing races with concurrent patches");
    },

    entryBytes: jsonbEntryBytes,

    async touch(id, expiresAt, now) {
      const rows = await touchStatement.execute({ id, expiresAt: expiresAt.toISOString(), now: now.toISOString() });
      return rows.length > 0;
    },

    async rotate(oldId, record, graceUntil, now) {
      const old = liveRow(oldId, now.toISOString());
      // The INSERT selects from the retired row, so it happens only if the old row was live:
      // both halves commit together or neither does.
      const retire =
        graceUntil === null
          ? sql`delete from ${t} where ${old} returning ${t.id}`
          : sql`update ${t} set ${column(t.data)} = '{}'::jsonb, ${column(t.successorId)} = ${record.id},
              ${column(t.expiresAt)} = ${graceUntil.toISOString()}::timestamptz, ${column(t.rev)} = ${t.rev} + 1
              where ${old} returning ${t.id}`;
      const r = recordParams(record);
      const columns = sql.join(Object.values(selection).map(column), sql`, `);
      const result = await db.execute(sql`with old as (${retire})
        insert into ${t} (${columns})
        select ${r.id}, ${r.data}::jsonb, ${r.expiresAt}::timestamptz, ${r.absoluteExpiresAt}::timestamptz,
          ${r.createdAt}::timestamptz, ${r.updatedAt}::timestamptz, ${r.schemaVersion}::integer,
          ${r.rev}::integer, ${r.successorId}::text
        from old returning ${t.id}`);
      return rowsOf(result).length > 0;
    },

    async delete(id) {
      await deleteQuery.execute({ id });
    },

    async find(where: Where, now, options = {}) {
      const query = db
        .select(selection)
        .from(t)
        .where(
          and(
            sql`${t.expiresAt} > ${now.toISOString()}::timestamptz`,
            isNull(t.successorId),
            ...whereConditions(t, indexed, where),
          ),
        )
        .orderBy(desc(t.updatedAt));
      return options.limit === undefined ? await query : await query.limit(options.limit);
    },

    async deleteWhere(where, options = {}) {
      const conditions = whereConditions(t, indexed, where);
      // An empty filter would delete every session of every user: refuse it loudly.
      if (conditions.length === 0) throw new SessionUsageError("deleteWhere: `where` names no field");
      const exceptId = options.exceptId;
      const rows = await db
        .delete(t)
        .where(and(...conditions, exceptId === undefined ? undefined : ne(t.id, exceptId)))
        .returning({ id: t.id });
      return rows.map((row) => row.id);
    },

    async purgeExpired(now, batchSize) {
      const rows = await purgeQuery.execute({ now: now.toISOString(), limit: batchSize });
      return rows.length;
    },

    ...operatorQueries(db, t, sql`${t}`, indexed),
  } satisfies SessionStore;
}
