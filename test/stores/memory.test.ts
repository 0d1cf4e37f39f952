import type { StoredSession } from "../../src/store.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { describeStore } from "./store-contract.js";

describeStore("memory", async () => {
  const map = new Map<string, StoredSession>();
  // B12: what a map shared with other code could hold under a session's id.
  const spoil = (id: string, fields: Record<string, unknown>) => {
    map.set(id, { ...(map.get(id) as StoredSession), ...fields } as StoredSession);
  };
  return {
    store: memoryStore({ map }),
    dump: async () => JSON.stringify([...map.entries()]),
    count: async () => map.size,
    reset: async () => map.clear(),
    close: async () => {},
    garbage: {
      "expiresAt a string": async (id) => spoil(id, { expiresAt: "2999-01-01" }),
      "expiresAt an Invalid Date": async (id) => spoil(id, { expiresAt: new Date(Number.NaN) }),
      "rev not a number": async (id) => spoil(id, { rev: "1" }),
      "data null": async (id) => spoil(id, { data: null }),
      "not an object": async (id) => {
        map.set(id, "garbage" as unknown as StoredSession);
      },
    },
  };
});
