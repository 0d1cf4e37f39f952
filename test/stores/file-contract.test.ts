import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileStore } from "../../src/stores/file/index.js";
import { describeStore } from "./store-contract.js";

describeStore("file", async () => {
  const dir = await mkdtemp(join(tmpdir(), "tessera-file-contract-"));
  // A lock or temp file may go between readdir and the read: it then simply is not in the dump.
  const contents = async () => Promise.all((await readdir(dir)).map((name) => readFile(join(dir, name), "utf8").catch(() => "")));
  return {
    store: fileStore({ dir, onCorrupt: () => {} }),
    dump: async () => (await contents()).join("\n"),
    count: async () => (await readdir(dir)).filter((name) => name.endsWith(".json")).length,
    reset: async () => {
      await Promise.all((await readdir(dir)).map((name) => rm(join(dir, name), { force: true })));
    },
    close: () => rm(dir, { recursive: true, force: true }),
    // A file cut off mid-JSON, as a crash or a full disk leaves it: reported as corrupt (B12).
    async plantCorrupt(id) {
      await writeFile(join(dir, `${id}.json`), `{"v":1,"id":"${id}","data":{"userId":{"json":"u`, { mode: 0o600 });
    },
  };
});
