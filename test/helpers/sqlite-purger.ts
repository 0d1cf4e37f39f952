/**
 * A purger in a process of its own, as `tesserae purge` on a SQLite file is beside a running
 * app: a store on its own better-sqlite3 connection purging in batches until stdin closes, then
 * printing how many rows it deleted. It prints "ready" once its connection is open.
 *
 * Usage: node --import tsx test/helpers/sqlite-purger.ts <file> <now-ms> <batch>
 */
import Database from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { drizzleStore } from "../../src/stores/drizzle/index.js";

const [file, nowMs, batch] = process.argv.slice(2);
const client = new Database(file as string);
const store = drizzleStore({ db: drizzle({ client }) });
const now = new Date(Number(nowMs));
let open = true;
process.stdin.on("end", () => {
  open = false;
});
process.stdin.resume();
process.stdout.write("ready\n");
let total = 0;
let batches = 0;
while (open) {
  const n = await store.purgeExpired(now, Number(batch));
  total += n;
  batches++;
  // Yield, so stdin's end is seen; an empty batch waits a little longer.
  await new Promise((resolve) => setTimeout(resolve, n === 0 ? 5 : 0));
}
client.close();
process.stdout.write(`${JSON.stringify({ total, batches })}\n`);
