import { makePayload } from "./workload.js";
import superjson from "superjson";
const entries = Object.entries(makePayload(5)).map(([k, v]) => JSON.stringify(superjson.serialize(v)));
console.log(entries.map((e) => e.length));
let sink = 0;
for (let round = 0; round < 5; round++) {
  const N = 200000; let t = performance.now();
  for (let i = 0; i < N; i++) for (const e of entries) sink += (JSON.parse(e) as object) ? 1 : 0;
  const all = (performance.now() - t) / N * 1000;
  t = performance.now();
  for (let i = 0; i < N; i++) sink += (JSON.parse(entries[1]!) as object) ? 1 : 0;
  const cart = (performance.now() - t) / N * 1000;
  console.log("all7 µs", all.toFixed(2), "cart µs", cart.toFixed(2));
}
