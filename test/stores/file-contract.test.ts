import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { openFileHarness } from "../helpers/file-harness.js";
import { describeStore } from "./store-contract.js";

describeStore("file", async () => {
  const { dir, ...harness } = await openFileHarness("tessera-file-contract-");
  return {
    ...harness,
    // A file cut off mid-JSON, as a crash or a full disk leaves it: reported as corrupt (B12).
    async plantCorrupt(id) {
      await writeFile(join(dir, `${id}.json`), `{"v":1,"id":"${id}","data":{"userId":{"json":"u`, { mode: 0o600 });
    },
  };
});
