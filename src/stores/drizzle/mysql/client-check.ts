import { entityKind } from "drizzle-orm";
import { SessionConfigError } from "../../../errors.js";
import type { MysqlDb } from "../dialects.js";

/** What the store reads of drizzle's mysql2 session (`db.session` is internal to drizzle). */
interface Mysql2SessionShape {
  constructor: { [entityKind]?: string };
  client?: object;
}

/** mysql2's promise pool keeps the callback pool as `pool`; the connection options are its `config.connectionConfig`. */
type PoolShape = { pool?: { config?: { connectionConfig?: { rowsAsArray?: unknown; charsetNumber?: unknown } } } };

/**
 * The collation ids mysql2 encodes text for as UTF-8 (its constants/charset_encodings.js, 3.x:
 * utf8mb3 and utf8mb4 of MySQL and MariaDB), as inclusive ranges.
 */
const UTF8_COLLATIONS: readonly (readonly [number, number])[] = [
  [33, 33],
  [45, 46],
  [76, 76],
  [83, 83],
  [125, 127],
  [152, 158],
  [184, 247],
  [251, 309],
  [1041, 1041],
  [1057, 1057],
  [1069, 1070],
  [1100, 1100],
  [1107, 1107],
  [1149, 1151],
  [1176, 1182],
  [1208, 1271],
  [1275, 1333],
  [2048, 2559],
];
const isUtf8 = (id: number) => UTF8_COLLATIONS.some(([first, last]) => id >= first && id <= last);

/**
 * Refuses, at `drizzleStore()`, a mysql2 client the store cannot run on correctly, instead of
 * letting it fail later, one request at a time, or lose writes silently.
 *
 * - A single connection (not a pool): drizzle runs `db.transaction` on that very connection, so
 *   every other request's statement sent meanwhile joins `rotate`'s or `revoke`'s transaction and
 *   is rolled back with it, after its caller was told it succeeded (test/attacks/issue16-mysql-config.test.ts).
 * - A pool created with `rowsAsArray: true`: the store reads results by column name, so every row
 *   would read as corrupt and every session would silently start over.
 * - A pool whose `charset` is not UTF-8 (`latin1_swedish_ci`, `big5`, ...): mysql2 encodes the
 *   statement in it, so characters it lacks reach the server as `?` or another character:
 *   "őű" was stored as "Qq", silently, and an emoji failed the write.
 */
export function checkMysqlClient(db: MysqlDb): void {
  const session = (db as unknown as { session?: Mysql2SessionShape }).session;
  // Only drizzle's mysql2 driver is checked: its client is a mysql2 Pool or Connection.
  if (session?.constructor?.[entityKind] !== "MySql2Session" || session.client === undefined) return;
  const client = session.client;
  if (!("getConnection" in client)) {
    throw new SessionConfigError(
      "drizzleStore: on MySQL, `db` must be a mysql2 pool (mysql.createPool), not a single connection: " +
        "rotate and revoke run transactions, which on a shared connection would take in other requests' writes",
    );
  }
  if ((client as PoolShape).pool?.config?.connectionConfig?.rowsAsArray === true) {
    throw new SessionConfigError(
      "drizzleStore: on MySQL, the mysql2 pool must not set `rowsAsArray`: the store reads rows by column name",
    );
  }
  const charset = (client as PoolShape).pool?.config?.connectionConfig?.charsetNumber;
  if (typeof charset === "number" && !isUtf8(charset)) {
    throw new SessionConfigError(
      "drizzleStore: on MySQL, the mysql2 pool's `charset` must be utf8mb4 (the default): another one changes the characters of session data",
    );
  }
}
