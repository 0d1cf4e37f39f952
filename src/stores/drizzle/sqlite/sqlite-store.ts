import type { SQL } from "drizzle-orm";
import { getTableColumns, getTableName, is, sql } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";
import { SQLiteColumn as SQLiteColumnClass, SQLiteTable } from "drizzle-orm/sqlite-core";
import {
  SessionConfigError,
  SessionCorruptError,
  SessionLateWriteError,
  SessionStoreError,
  SessionTooLargeError,
  SessionUsageError,
} from "../../../errors.js";
import type { SessionStore, StoredSession } from "../../../store.js";
import type { DrizzleSessionStore, SqliteDb } from "../dialects.js";
import { sessions } from "./default-table.js";
import { sqliteEntryBytes } from "./entry-bytes.js";
import { jsonSetPatches } from "./json-set-patch.js";
import { sqliteOperatorQueries } from "./operator-queries.js";
import { quickRow, quickRowColumns, readRow, rowColumns } from "./row.js";
import type { SqliteSessionsTable } from "./sessions-table.js";
import { sqliteBaseColumnKeys } from "./sessions-table.js";
import { sqliteStatement } from "./statement.js";
import { atomically } from "./transaction.js";
import { whereConditions } from "./where.js";

/** Checks at factory time that `table` is a sqliteTable with every column the store writes; its indexed fields. */
function checkTable(table: unknown): ReadonlyMap<string, SQLiteColumn> {
  if (!is(table, SQLiteTable)) throw new SessionConfigError("drizzleStore: `table` must be a Drizzle sqliteTable");
  const columns: Record<string, unknown> = getTableColumns(table);
  for (const key of sqliteBaseColumnKeys) {
    if (!is(columns[key], SQLiteColumnClass)) {
      throw new SessionConfigError(`drizzleStore: \`table\` has no "${key}" column; build it with sessionsTable()`);
    }
  }
  const indexed = new Map<string, SQLiteColumn>();
  for (const [field, column] of Object.entries(columns)) {
    // Only generated columns follow `data`; any other extra column is the user's own business.
    if (is(column, SQLiteColumnClass) && column.generated?.type === "always" && !sqliteBaseColumnKeys.includes(field as never)) {
      indexed.set(field, column);
    }
  }
  return indexed;
}

/**
 * A name of the row's key that no column of `table` takes: SQLite resolves `rowid`, `_rowid_` and
 * `oid` (any case) to a column of that name when there is one, and the purge deleting "by rowid"
 * then deleted every row sharing an expired row's value in it, live ones too
 * (test/attacks/issue16-sqlite-rowid.test.ts).
 */
function rowidAlias(table: SqliteSessionsTable): string {
  const taken = new Set(Object.values(getTableColumns(table)).map((column) => column.name.toLowerCase()));
  const alias = ["rowid", "_rowid_", "oid"].find((name) => !taken.has(name));
  if (alias === undefined) {
    throw new SessionConfigError(
      "drizzleStore: `table` has columns named rowid, _rowid_ and oid; SQLite's row key has no name left",
    );
  }
  return alias;
}

/**
 * A key the store cannot hold as it was given: SQLite ends a key at U+0000 (two keys would
 * become one) and writes a lone surrogate as bytes that are not UTF-8 (libSQL then aborts the
 * process reading them). The core refuses both in values at `set()`; keys are schema names, so
 * this is the store's own guard, and a usage error.
 */
function checkKeys(keys: Iterable<string>): void {
  for (const key of keys) {
    if (unstorableKey.test(key)) {
      throw new SessionUsageError("drizzleStore: a session key holds U+0000 or a lone surrogate, which SQLite cannot store");
    }
  }
}

// U+0000, a high surrogate not followed by a low one, or a low one not preceded by a high one.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is what it looks for.
const unstorableKey = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

const ms = (date: Date) => date.getTime();
const msOrNull = (date: Date | null | undefined) => (date === null || date === undefined ? null : date.getTime());

/**
 * `drizzleStore` on a Drizzle SQLite database: libSQL/Turso (`drizzle-orm/libsql`) or
 * better-sqlite3. SQLite runs one writer at a time, so every statement sees the latest row and
 * each method below is one statement, atomic on its own:
 * - `patch` merges `set` into `data` with SQLite's JSON functions, removes `deleted` and bumps
 *   `rev` in one `UPDATE` of a live row, so concurrent saves to different keys all survive; it
 *   never inserts. The same `UPDATE` refuses a patch that would grow `data` past `maxBytes` (B9),
 *   measured as the text's bytes (`sqliteEntryBytes`); only then, or for a gone row, a second
 *   query tells which it was.
 * - `get` throws `SessionCorruptError` for a row it cannot read (B12).
 * - `replace` and `touch` are update-only too (`touch` writes only `expires_at`).
 * - `rotate` inserts the new row from the live old one and then retires the old row, in one
 *   transaction (`db.batch` on libSQL, a synchronous `BEGIN IMMEDIATE` one on better-sqlite3).
 * Grace-period shadows (rows with `successor_id`) are read-only: writes to them return null/false.
 *
 * @throws SessionConfigError when `table` is not a sqliteTable with every column.
 */
export function sqliteStore(db: SqliteDb, table: SqliteSessionsTable | undefined): DrizzleSessionStore {
  const t = table ?? sessions;
  const indexed = checkTable(t);
  const name = getTableName(t);
  const T = sql.identifier(name);
  // Column names for raw SQL, unqualified (SET) or of the table (WHERE, where a subquery may
  // name the table again under an alias).
  const c = (column: { name: string }) => sql.identifier(column.name);
  const q = (column: string) => `"${name.replaceAll('"', '""')}"."${column}"`;
  const col = (column: string) => sql.raw(q(column));
  const liveAt = (now: SQL) => sql`${col("expires_at")} > ${now} and ${col("successor_id")} is null`;
  // A patch needs the row's data to be a JSON object: a row whose data is not (corrupt: get()
  // reports it) takes no patch, as a gone row, rather than failing in SQLite's JSON functions as
  // an outage (an array's integer keys are no object labels, its strings no JSON).
  // Text only: json_valid takes some blobs too (as JSONB), which get() calls corrupt.
  const isObject = (text: SQL) =>
    sql`(case when typeof(${text}) = 'text' and json_valid(${text}) then json_type(${text}) = 'object' else 0 end)`;
  const patchable = (now: SQL) => sql`${liveAt(now)} and ${isObject(col("data"))}`;
  const columns = sql.raw(rowColumns(q));
  const allColumns = sql.join(
    [t.id, t.data, t.expiresAt, t.absoluteExpiresAt, t.createdAt, t.updatedAt, t.schemaVersion, t.rev, t.successorId].map(c),
    sql`, `,
  );

  const getStatement = sqliteStatement(db, (p) => sql`select ${columns} from ${T} where ${col("id")} = ${p("id")}`);
  const quickGetStatement = sqliteStatement(
    db,
    (p) => sql`select ${sql.raw(quickRowColumns(q))} from ${T} where ${col("id")} = ${p("id")}`,
  );
  // The row, read with its columns as they are (row.ts); when that read fails (a column the
  // driver does not give as a number, a corrupt row), read again with every column typed in SQL,
  // which gives the row, or SessionCorruptError for a row that is corrupt, or the outage.
  const readById = async (id: string) => {
    try {
      const [found] = await quickGetStatement.values({ id });
      return found === undefined ? null : readRow(id, quickRow(found));
    } catch {}
    const [found] = await getStatement.values({ id });
    return found === undefined ? null : readRow(id, found);
  };
  const createStatement = sqliteStatement(
    db,
    (p) => sql`insert into ${T} (${allColumns}) values (${p("id")}, ${p("data")}, ${p("expiresAt")}, ${p("absoluteExpiresAt")},
      ${p("createdAt")}, ${p("updatedAt")}, ${p("schemaVersion")}, ${p("rev")}, ${p("successorId")})`,
  );

  // Every value of a patch once, in a one-row CTE: the statement names each as often as it needs.
  // Named apart from the table: a CTE shadows a table of its name (a table called "p" could not
  // be patched: test/attacks/issue16-sqlite-table-names.test.ts).
  const P = sql.identifier(name.toLowerCase() === "tessera_patch" ? "tessera_patch_values" : "tessera_patch");
  const patchParams = (p: (name: string) => SQL) =>
    sql`with ${P}(id, now, deleted, "set", max_bytes, not_after, expected_rev, expected_bytes) as (select ${p("id")}, ${p("now")},
      ${p("deleted")}, ${p("set")}, ${p("maxBytes")}, ${p("notAfter")}, ${p("expectedRev")}, ${p("expectedBytes")})`;
  // The merged data, built once from the row as it is now: its entries minus the deleted and the
  // set keys, plus the set ones. SQLite keeps each entry's text as given, and json_group_object
  // writes the object compact, so the result's bytes are Σ sqliteEntryBytes (+1).
  // An entry that is not an object (a row written by hand: `{"userId":"u1"}`) is kept as the JSON
  // value it is: json_each gives scalars as SQL values (a string bare, `true` as 1), which json()
  // would refuse or change (test/attacks/issue16-sqlite-patch-garbage.test.ts).
  const entryJson = sql`case type when 'object' then json(value) when 'array' then json(value)
    when 'true' then json('true') when 'false' then json('false') else value end`;
  const merged = sql`(select json_group_object(key, ${entryJson}) as merged from (
      select key, type, value from ${P}, json_each((select case when ${isObject(sql`o.${c(t.data)}`)} then o.${c(t.data)} else '{}' end
        from ${T} o where o.${c(t.id)} = ${P}.id))
        where key not in (select value from json_each(${P}.deleted)) and key not in (select key from json_each(${P}."set"))
      union all select key, type, value from ${P}, json_each(${P}."set"))) as m`;
  const size = (text: SQL) => sql`(case when ${text} = '{}' then 0 else length(cast(${text} as blob)) - 1 end)`;
  // B9, with the row as it is now (one writer at a time): the core's own figure while the row is
  // at the rev it computed it from, else the merged size; a patch that does not grow the row
  // always goes through, so a row over a lowered limit can still shrink.
  const fits = sql`((${col("rev")} = ${P}.expected_rev and ${P}.expected_bytes <= ${P}.max_bytes) or ${size(sql`m.merged`)} <= ${P}.max_bytes
    or ${size(sql`m.merged`)} <= ${size(col("data"))})`;
  // A write that arrives after its caller gave up must not undo a newer one.
  const onTime = sql`(${P}.not_after is null or ${col("updated_at")} <= ${P}.not_after)`;
  const patchStatement = sqliteStatement(
    db,
    (p) => sql`${patchParams(p)} update ${T} set ${c(t.data)} = m.merged, ${c(t.expiresAt)} = ${p("expiresAt")},
      ${c(t.updatedAt)} = ${p("updatedAt")}, ${c(t.schemaVersion)} = ${p("schemaVersion")}, ${c(t.rev)} = ${col("rev")} + 1
      from ${P}, ${merged}
      where ${col("id")} = ${P}.id and ${patchable(sql`${P}.now`)} and ${onTime} and ${fits} returning ${c(t.rev)}`,
  );
  // The usual patch (json-set-patch.ts): the keys edited in place with json_set/json_remove, the
  // same conditions, B9 as one comparison (for a non-empty result, size <= max(limit, current)
  // is the two bounds above; `{}` measures 0 but is 2 bytes long, and fits any limit: the 1).
  const jsonSetPatch = jsonSetPatches(
    db,
    (merged, p) => sql`update ${T} set ${c(t.data)} = ${merged(col("data"))}, ${c(t.expiresAt)} = ${p("expiresAt")},
      ${c(t.updatedAt)} = ${p("updatedAt")}, ${c(t.schemaVersion)} = ${p("schemaVersion")}, ${c(t.rev)} = ${col("rev")} + 1
      where ${col("id")} = ${p("id")} and ${liveAt(p("now"))} and (${p("notAfter")} is null or ${col("updated_at")} <= ${p("notAfter")})
      and (case when ${isObject(col("data"))} then (${col("rev")} = ${p("expectedRev")} and ${p("expectedBytes")} <= ${p("maxBytes")})
        or length(cast(${merged(col("data"))} as blob)) - 1 <= max(${p("maxBytes")}, ${size(col("data"))}, 1) else 0 end)
      returning ${c(t.rev)}`,
  );
  // Only when a write matched no row: was the row gone, late, or would the patch grow it too large?
  const patchMissStatement = sqliteStatement(
    db,
    (p) => sql`${patchParams(p)} select ${patchable(sql`${P}.now`)}, ${onTime}, ${fits}, ${size(sql`m.merged`)}
      from ${T}, ${P}, ${merged} where ${col("id")} = ${P}.id`,
  );
  const patchMiss = async (values: Record<string, unknown>) => {
    const [row] = await patchMissStatement.values(values);
    if (row === undefined) return undefined;
    const [live, onTime, fits, bytes] = row;
    return { live: Number(live) === 1, onTime: Number(onTime) === 1, fits: Number(fits) === 1, bytes: Number(bytes) };
  };
  const replaceStatement = sqliteStatement(
    db,
    (p) => sql`update ${T} set ${c(t.data)} = ${p("data")}, ${c(t.expiresAt)} = ${p("expiresAt")},
      ${c(t.absoluteExpiresAt)} = ${p("absoluteExpiresAt")}, ${c(t.createdAt)} = ${p("createdAt")},
      ${c(t.updatedAt)} = ${p("updatedAt")}, ${c(t.schemaVersion)} = ${p("schemaVersion")}, ${c(t.rev)} = ${col("rev")} + 1
      where ${col("id")} = ${p("id")} and ${liveAt(p("now"))}
      and (${p("notAfter")} is null or ${col("updated_at")} <= ${p("notAfter")}) returning ${c(t.rev)}`,
  );
  // Only the expiry moves: the data is never rewritten by an activity refresh (R29).
  const touchStatement = sqliteStatement(
    db,
    (p) => sql`update ${T} set ${c(t.expiresAt)} = ${p("expiresAt")} where ${col("id")} = ${p("id")} and ${liveAt(p("now"))}`,
  );
  const deleteStatement = sqliteStatement(db, (p) => sql`delete from ${T} where ${col("id")} = ${p("id")}`);
  const expiredDeleteStatement = sqliteStatement(
    db,
    (p) => sql`delete from ${T} where ${col("id")} = ${p("id")} and ${col("expires_at")} <= ${p("now")}`,
  );
  // One DELETE per batch: SQLite runs one writer at a time, so concurrent purgers (instances,
  // the CLI in another process) each delete what is still there and no row is counted twice.
  // By rowid: the batch is found on the expires_at index and deleted without a second lookup.
  const rowid = sql.raw(rowidAlias(t));
  const purgeStatement = sqliteStatement(
    db,
    (p) =>
      sql`delete from ${T} where ${rowid} in (select ${rowid} from ${T} where ${col("expires_at")} <= ${p("now")} limit ${p("limit")})`,
  );

  const recordParams = (record: StoredSession) => {
    checkKeys(Object.keys(record.data));
    return {
      id: record.id,
      data: JSON.stringify(record.data),
      expiresAt: ms(record.expiresAt),
      absoluteExpiresAt: msOrNull(record.absoluteExpiresAt),
      createdAt: ms(record.createdAt),
      updatedAt: ms(record.updatedAt),
      schemaVersion: record.schemaVersion,
      rev: record.rev,
      successorId: record.successorId,
    };
  };

  return {
    async get(id, now) {
      const row = await readById(id);
      if (row === null) return null;
      if (row.expiresAt.getTime() > now.getTime()) return row;
      // Lazy delete, guarded on expiry so a row refreshed meanwhile survives. Failing it is
      // harmless (the row is never returned and purgeExpired gets it), so the load goes on.
      await expiredDeleteStatement.run({ id, now: ms(now) }).catch(() => undefined);
      return null;
    },

    async create(record) {
      // A plain INSERT: an existing id is a unique violation, never an overwrite.
      await createStatement.run(recordParams(record));
    },

    async replace(record, now, notAfter?) {
      const params = { ...recordParams(record), now: ms(now), notAfter: msOrNull(notAfter) };
      const [row] = await replaceStatement.values(params);
      if (row !== undefined) return Number(row[0]);
      const miss = await patchMiss({ ...params, deleted: "[]", set: "{}", maxBytes: 0, expectedRev: null, expectedBytes: null });
      if (miss?.live && !miss.onTime) throw new SessionLateWriteError("drizzleStore");
      return null;
    },

    async patch(id, patch, now) {
      checkKeys(Object.keys(patch.set));
      checkKeys(patch.deleted);
      const params = {
        id,
        now: ms(now),
        deleted: JSON.stringify(patch.deleted),
        set: JSON.stringify(patch.set),
        expiresAt: ms(patch.expiresAt),
        updatedAt: ms(patch.updatedAt),
        schemaVersion: patch.schemaVersion,
        // SQLite integers are 64-bit: a limit past that (or Infinity) is no limit.
        maxBytes: Math.min(patch.maxBytes, Number.MAX_SAFE_INTEGER),
        notAfter: msOrNull(patch.notAfter),
        expectedRev: patch.expected?.rev ?? null,
        expectedBytes: patch.expected?.bytes ?? null,
      };
      // SQLite has one writer at a time, but between the miss and its explanation another patch
      // can shrink the row; then try again.
      const fast = jsonSetPatch(patch.set, patch.deleted, params);
      for (let attempt = 0; attempt < 3; attempt++) {
        const [row] = await (fast === undefined ? patchStatement.values(params) : fast.statement.values(fast.params));
        if (row !== undefined) return Number(row[0]);
        const miss = await patchMiss(params);
        if (miss === undefined || !miss.live) return null;
        if (!miss.onTime) throw new SessionLateWriteError("drizzleStore");
        if (!miss.fits) throw new SessionTooLargeError(miss.bytes, patch.maxBytes);
      }
      throw new SessionStoreError("drizzleStore: a patch kept losing races with concurrent patches");
    },

    entryBytes: sqliteEntryBytes,

    async touch(id, expiresAt, now) {
      return (await touchStatement.run({ id, expiresAt: ms(expiresAt), now: ms(now) })) > 0;
    },

    async rotate(oldId, record, graceUntil, now) {
      const r = recordParams(record);
      const old = sql`${col("id")} = ${oldId} and ${liveAt(sql`${ms(now)}`)}`;
      // The new row is inserted from the live old row (nothing when it is gone, expired or a
      // shadow); the old row is retired only where the new one now exists. Together, in one
      // transaction: both happen or neither does.
      const insert = sql`insert into ${T} (${allColumns})
        select ${r.id}, ${r.data}, ${r.expiresAt}, ${r.absoluteExpiresAt}, ${r.createdAt}, ${r.updatedAt},
          ${r.schemaVersion}, ${r.rev}, ${r.successorId} from ${T} where ${old}`;
      const inserted = sql`exists (select 1 from ${T} n where n.${c(t.id)} = ${r.id})`;
      const retire =
        graceUntil === null
          ? sql`delete from ${T} where ${old} and ${inserted}`
          : sql`update ${T} set ${c(t.data)} = '{}', ${c(t.successorId)} = ${r.id}, ${c(t.expiresAt)} = ${ms(graceUntil)},
              ${c(t.rev)} = ${col("rev")} + 1 where ${old} and ${inserted}`;
      const [insertedRows] = await atomically(db, [insert, retire]);
      return (insertedRows ?? 0) > 0;
    },

    async delete(id) {
      await deleteStatement.run({ id });
    },

    async find(where, now, options = {}) {
      const conditions = whereConditions(t.data, indexed, where);
      const limit = options.limit === undefined ? sql`` : sql` limit ${options.limit}`;
      const rows = (await db.values(
        sql`select ${col("id")}, ${columns} from ${T} where ${sql.join([liveAt(sql`${ms(now)}`), ...conditions], sql` and `)}
          order by ${col("updated_at")} desc${limit}`,
      )) as ArrayLike<unknown>[];
      // A row that cannot be read is left out of the list (get() reports it as corrupt when its
      // session loads): one bad row must not hide a user's other sessions.
      return rows.flatMap((row) => {
        const [id, ...rest] = Array.prototype.slice.call(row) as unknown[];
        try {
          return [readRow(id as string, rest)];
        } catch (error) {
          if (error instanceof SessionCorruptError) return [];
          throw error;
        }
      });
    },

    async deleteWhere(where, options = {}) {
      const conditions = whereConditions(t.data, indexed, where);
      // An empty filter would delete every session of every user: refuse it loudly.
      if (conditions.length === 0) throw new SessionUsageError("deleteWhere: `where` names no field");
      const except = options.exceptId === undefined ? sql`` : sql` and ${col("id")} <> ${options.exceptId}`;
      const rows = (await db.values(
        sql`delete from ${T} where ${sql.join(conditions, sql` and `)}${except} returning ${c(t.id)}`,
      )) as ArrayLike<unknown>[];
      return rows.map((row) => String(row[0]));
    },

    async purgeExpired(now, batchSize) {
      return purgeStatement.run({ now: ms(now), limit: batchSize });
    },

    ...sqliteOperatorQueries(db, t, indexed),
  } satisfies SessionStore;
}
