import type { StoredSession } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { describeStore } from "./store-contract.js";

describeStore("memory", async () => {
  const map = new Map<string, StoredSession>();
  return {
    store: memoryStore({ map }),
    dump: async () => JSON.stringify([...map.entries()]),
    count: async () => map.size,
    reset: async () => map.clear(),
    close: async () => {},
  };
});
