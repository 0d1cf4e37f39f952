/**
 * A second (and third) process for the file store's cross-process test (R53): patches one session
 * `count` times, each patch setting its own key `${prefix}${i}`. It prints "ready" once the store is
 * open and starts when a line arrives on stdin, so that the processes really overlap.
 *
 * Usage: node --import tsx test/helpers/file-hammer.ts <dir> <id> <prefix> [count=200]
 */
import { once } from "node:events";
import { fileStore } from "../../src/stores/file/file-store.js";

const [dir, id, prefix, count = "200"] = process.argv.slice(2);
if (dir === undefined || id === undefined || prefix === undefined) {
  console.error("usage: file-hammer <dir> <id> <prefix> [count]");
  process.exit(2);
}
const store = fileStore({ dir });
process.stdout.write("ready\n");
await once(process.stdin, "data");
process.stdin.pause();

for (let i = 0; i < Number(count); i++) {
  const now = new Date();
  const patch = {
    set: { [`${prefix}${i}`]: { json: i } },
    deleted: [],
    expiresAt: new Date(now.getTime() + 3_600_000),
    updatedAt: now,
    schemaVersion: 1,
    maxBytes: 65_536,
  };
  if ((await store.patch(id, patch, now)) === null) {
    console.error(`patch ${i} found no live session`);
    process.exit(1);
  }
}
process.stdout.write("done\n");
