/**
 * The MySQL line's databases on the shared MariaDB (`MYSQL_URL`): one per contender, created
 * with a run-specific name and dropped at the end of the run (and on Ctrl-C), never another's.
 * Also reads, never sets, the server's commit durability: it is global on MariaDB and the
 * server is shared, so the line is labelled with what it ran with.
 */
import mysql from "mysql2/promise";

async function admin<T>(url: string, work: (connection: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection(url);
  try {
    return await work(connection);
  } finally {
    await connection.end();
  }
}

/** Creates database `name` on the server of `url`, records it in `created`, and returns its URL. */
export async function createMysqlDatabase(url: string, name: string, created: string[]): Promise<string> {
  await admin(url, (c) => c.query(`create database \`${name}\``));
  created.push(name);
  const own = new URL(url);
  own.pathname = `/${name}`;
  return own.toString();
}

/** Drops the databases (dropping one waits for its open transactions: contenders are closed first). */
export async function dropMysqlDatabases(url: string, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  await admin(url, async (c) => {
    for (const name of names) await c.query(`drop database if exists \`${name}\``).catch(() => {});
  }).catch(() => {});
}

/** The server's version and the settings that decide what a commit waits for. */
export interface MysqlDurability {
  version: string;
  /** 1: every commit writes and fsyncs the redo log (Postgres `synchronous_commit = on`'s analogue). */
  innodbFlushLogAtTrxCommit: number;
  /** 0 with the binary log off: commits wait for no binlog fsync. */
  syncBinlog: number;
  logBin: boolean;
}

/** Reads the durability settings of the server of `url` (or null when it cannot be reached). */
export async function mysqlDurability(url: string): Promise<MysqlDurability | null> {
  return admin(url, async (c) => {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      "select @@version as version, @@innodb_flush_log_at_trx_commit as flush, @@sync_binlog as syncBinlog, @@log_bin as logBin",
    );
    const row = rows[0] as { version: string; flush: number | string; syncBinlog: number | string; logBin: number | string };
    return {
      version: row.version,
      innodbFlushLogAtTrxCommit: Number(row.flush),
      syncBinlog: Number(row.syncBinlog),
      logBin: Number(row.logBin) === 1,
    };
  }).catch(() => null);
}
