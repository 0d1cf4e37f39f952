import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileStore } from "../../src/stores/file/index.js";

/**
 * A file store in a fresh temporary folder (named from `prefix`), with raw views of the folder:
 * every file's text, how many records, emptying it; `close` removes the folder.
 */
export async function openFileHarness(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // A lock or temp file may go between readdir and the read: it then simply is not in the dump.
  const contents = async () => Promise.all((await readdir(dir)).map((name) => readFile(join(dir, name), "utf8").catch(() => "")));
  return {
    dir,
    store: fileStore({ dir, onCorrupt: () => {} }),
    dump: async () => (await contents()).join("\n"),
    count: async () => (await readdir(dir)).filter((name) => name.endsWith(".json")).length,
    reset: async () => {
      await Promise.all((await readdir(dir)).map((name) => rm(join(dir, name), { force: true })));
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}
