import { inProcessStore } from "./cpu/line.js";
import { define } from "./contenders/tessera-common.js";
import { makePayload } from "./workload.js";
const sessions = define({ store: inProcessStore() });
const cookies: string[] = [];
for (let i = 0; i < 1000; i++) { const s = await sessions.load(null); s.update(makePayload(i)); const [h] = await s.commit(); cookies[i] = h!.split(";")[0]!; }
const T = { load: 0, set: 0, commit: 0, get: 0, rcommit: 0, rload: 0 };
const N = 100000;
for (let round = 0; round < 2; round++) {
  for (const k of Object.keys(T)) (T as any)[k] = 0;
  for (let i = 0; i < N; i++) {
    let t = performance.now();
    const s = await sessions.load(cookies[i % 1000]);
    T.load += performance.now() - t; t = performance.now();
    if (process.env.PRE) for (const k of ["userId", "cart", "lastSeen", "theme", "beta", "newsletter", "admin"] as const) s.get(k);
    T.get += performance.now() - t; t = performance.now();
    s.set("lastSeen", new Date());
    T.set += performance.now() - t; t = performance.now();
    const [h] = await s.commit();
    T.commit += performance.now() - t;
    if (h) cookies[i % 1000] = h.split(";")[0]!;
    t = performance.now();
    const r = await sessions.load(cookies[(i + 7) % 1000]);
    T.rload += performance.now() - t; t = performance.now();
    r.get("theme");
    T.get += performance.now() - t; t = performance.now();
    await r.commit();
    T.rcommit += performance.now() - t;
  }
  const TT = (globalThis as any).__T; if (TT) { console.log("save parts", TT.map((x: number) => (x * 1000 / N).toFixed(2)).join(" ")); TT.fill(0); }
  console.log(Object.entries(T).map(([k, v]) => `${k} ${(v * 1000 / N).toFixed(2)}`).join("  "));
}
