/**
 * Another process holding SQLite's write lock: opens `file` with better-sqlite3, `BEGIN
 * IMMEDIATE`, writes a row, prints "locked", and commits after `holdMs` (or when stdin closes).
 * After `holdMs`, not on a signal from the test: a local SQLite client waiting on the lock blocks
 * its whole thread (the busy handler sleeps), so the test could not send one.
 *
 * Usage: node --import tsx test/helpers/sqlite-locker.ts <file> <holdMs>
 */
import Database from "better-sqlite3";

const client = new Database(process.argv[2] as string);
client.exec("begin immediate");
client.exec("create table if not exists lock_probe (n integer)");
client.exec("insert into lock_probe values (1)");
process.stdout.write("locked\n");
let done = false;
const commit = () => {
  if (done) return;
  done = true;
  client.exec("commit");
  client.close();
  process.stdout.write("committed\n");
  process.exit(0);
};
setTimeout(commit, Number(process.argv[3]));
process.stdin.on("end", commit);
process.stdin.resume();
