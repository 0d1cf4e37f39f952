import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { inProcessStore } from "./cpu/line.js";
import { define, tesseraOps } from "./contenders/tessera-common.js";
const which = process.argv[2] ?? "modify";
const ops = tesseraOps(define({ store: inProcessStore() }));
await ops.seed(1000);
const run = async (n: number) => { for (let i = 0; i < n; i++) await (which === "modify" ? ops.modify(i % 1000) : ops.read(i % 1000)); };
await run(50000);
let t = performance.now(); await run(100000); console.log(which, ((performance.now() - t) * 1000 / 100000).toFixed(2), "µs");
if (process.env.PROFILE_DIR) {
  const s = new Session(); s.connect(); await s.post("Profiler.enable"); await s.post("Profiler.setSamplingInterval", { interval: 50 }); await s.post("Profiler.start");
  await run(100000);
  const { profile } = await s.post("Profiler.stop"); writeFileSync(`${process.env.PROFILE_DIR}/cpu-${which}.cpuprofile`, JSON.stringify(profile));
}
const T = (globalThis as any).__T; if (T) console.log("per op µs (over all runs)", T.map((x: number) => (x * 1000 / 250000).toFixed(2)).join(" "));
