/**
 * The CPU line: microseconds per cycle spent in Tessera itself (schema validation, superjson,
 * size accounting, expiry and change bookkeeping, token hashing, the cookie) for the 1 KB
 * payload, with the backend taken out: a store in this process that answers from memory.
 * Beside it, the least any JSON session store does: `JSON.parse` + `JSON.stringify` of the
 * same payload.
 */
import type { SessionPatch, SessionStore, StoredData, StoredSession } from "../../src/store.js";
import { define, tesseraOps } from "../contenders/tessera-common.js";

/**
 * A store without I/O that keeps records as `redisStore` does, one JSON text per entry, and
 * parses them on every `get` as a networked store's driver would: the core pays for the objects
 * it is given, and learns the data's size as it would from Redis.
 */
export function inProcessStore(): SessionStore {
  const records = new Map<string, { meta: Omit<StoredSession, "data">; entries: Map<string, string> }>();
  const fail = () => Promise.reject(new Error("not used by the CPU line"));
  return {
    async get(id, now) {
      const held = records.get(id);
      if (held === undefined || held.meta.expiresAt.getTime() <= now.getTime()) return null;
      const data: StoredData = {};
      let dataBytes = 0;
      for (const [key, text] of held.entries) {
        data[key] = JSON.parse(text) as StoredData[string];
        dataBytes += Buffer.byteLength(text);
      }
      return { ...held.meta, data, dataBytes };
    },
    async create(record) {
      const { data, ...meta } = record;
      records.set(record.id, { meta, entries: new Map(Object.entries(data).map(([k, v]) => [k, JSON.stringify(v)])) });
    },
    async patch(id: string, patch: SessionPatch) {
      const held = records.get(id);
      if (held === undefined) return null;
      for (const key of patch.deleted) held.entries.delete(key);
      for (const [key, entry] of Object.entries(patch.set)) held.entries.set(key, JSON.stringify(entry));
      held.meta = { ...held.meta, expiresAt: patch.expiresAt, updatedAt: patch.updatedAt, rev: held.meta.rev + 1 };
      return held.meta.rev;
    },
    async touch(id, expiresAt) {
      const held = records.get(id);
      if (held === undefined) return false;
      held.meta = { ...held.meta, expiresAt };
      return true;
    },
    replace: fail,
    rotate: fail,
    delete: fail,
    find: fail,
    deleteWhere: fail,
    purgeExpired: async () => 0,
  };
}

export interface CpuLine {
  /** µs per modify cycle (load, set one key, commit), the in-process store included. */
  tesseraModifyUs: number;
  /** µs per read cycle (load, get, commit that writes nothing). */
  tesseraReadUs: number;
  /** µs the in-process store itself spends per modify (parsing entries, writing one), included above. */
  storeModifyUs: number;
  /** µs the in-process store itself spends per read (parsing entries), included above. */
  storeReadUs: number;
  /** µs for JSON.parse + JSON.stringify of the payload: the floor of any JSON session store. */
  jsonUs: number;
}

// Wall time of a loop with nothing to wait for: the event loop never idles, so it is CPU time
// on one core. The fastest of several windows is kept, since other processes can only add time.
async function perCycle(run: (i: number) => Promise<void> | void, sessions: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let ops = 0;
  const start = performance.now();
  while (performance.now() < until) {
    for (let k = 0; k < 100; k++) await run((ops + k) % sessions);
    ops += 100;
  }
  return ((performance.now() - start) * 1000) / ops;
}

/** Measures the CPU line; `ms` per measurement after an equal warm-up. */
export async function measureCpu(options: { sessions: number; ms: number; payloadJson: string }): Promise<CpuLine> {
  const store = inProcessStore();
  const ops = tesseraOps(define({ store }));
  await ops.seed(options.sessions);
  const best = async (run: (i: number) => Promise<void> | void) => {
    await perCycle(run, options.sessions, options.ms);
    const windows: number[] = [];
    for (let w = 0; w < 5; w++) windows.push(await perCycle(run, options.sessions, options.ms / 5));
    return Math.min(...windows);
  };
  const tesseraModifyUs = await best((i) => ops.modify(i));
  const tesseraReadUs = await best((i) => ops.read(i));
  const text = options.payloadJson;
  const jsonUs = await best(() => {
    const data = JSON.parse(text) as Record<string, unknown>;
    data.lastSeen = new Date();
    JSON.stringify(data);
  });
  // The in-process store's own work: parse every entry on get, stringify the one a patch writes.
  const entries = Object.values(JSON.parse(text) as object).map((v) => JSON.stringify({ json: v }));
  const get = () => {
    for (const entry of entries) {
      JSON.parse(entry);
      Buffer.byteLength(entry);
    }
  };
  const storeReadUs = await best(get);
  const storeModifyUs = await best(() => {
    get();
    JSON.stringify({ json: new Date().toISOString(), meta: { values: ["Date"] } });
  });
  return { tesseraModifyUs, tesseraReadUs, storeModifyUs, storeReadUs, jsonUs };
}
