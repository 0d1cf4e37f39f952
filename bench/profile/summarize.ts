/**
 * Summarises a `.cpuprofile` (from `node --cpu-prof`): the top self-time functions, and self time
 * grouped by where it runs: ioredis, Tessera's own files (one line each), zod, superjson, node
 * internals, GC, idle.
 *
 *   node --import tsx bench/profile/summarize.ts <file.cpuprofile> [top=30]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error("usage: summarize.ts <file.cpuprofile> [top]");
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const top = Number(topArg ?? 30);

const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});
let total = 0;
for (const us of selfUs.values()) total += us;

function group(node: Node): string {
  const { functionName, url } = node.callFrame;
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)") return "idle";
  if (functionName === "(program)") return "(program)";
  if (
    url.includes("/node_modules/ioredis/") ||
    url.includes("/node_modules/redis-parser/") ||
    url.includes("/node_modules/@ioredis/")
  )
    return "ioredis";
  if (url.includes("/node_modules/zod/")) return "zod";
  if (url.includes("/node_modules/superjson/")) return "superjson";
  if (url.includes("/node_modules/tsx/") || url.includes("/node_modules/esbuild/")) return "tsx";
  if (url.includes("/node_modules/")) return `dep ${url.split("/node_modules/")[1]?.split("/")[0]}`;
  const src = url.indexOf("/src/");
  if (src !== -1) return `tessera ${url.slice(src + 1)}`;
  if (url.includes("/bench/")) return "bench";
  if (url.startsWith("node:") || url === "") return functionName.startsWith("(") ? functionName : "node internals / native";
  return url;
}

const groups = new Map<string, number>();
const fns = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id);
  if (!node) continue;
  const g = group(node);
  groups.set(g, (groups.get(g) ?? 0) + us);
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(/^.*\/(node_modules|src|bench)\//, "$1/")}:${lineNumber + 1}` : "";
  const key = `${functionName || "(anonymous)"} ${where}`;
  fns.set(key, (fns.get(key) ?? 0) + us);
}
// Native and node-internal self time charged to the nearest caller in a named group (ioredis,
// Tessera, ...): "who made the socket write", and inclusive time per function.
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const charged = new Map<string, number>();
const inclusive = new Map<string, number>();
const attribution = new Map<string, number>();
for (const [id, us] of selfUs) {
  let at: number | undefined = id;
  let g = "";
  const seen = new Set<string>();
  while (at !== undefined) {
    const node = byId.get(at);
    if (!node) break;
    const here = group(node);
    if (!g && here !== "node internals / native" && here !== "(program)" && !here.startsWith("(")) g = here;
    const { functionName, url } = node.callFrame;
    if (url) {
      const key = `${functionName || "(anonymous)"} ${url.replace(/^.*\/(node_modules|src|bench)\//, "$1/")}`;
      if (!seen.has(key)) {
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + us);
      }
    }
    at = parent.get(at);
  }
  const self = byId.get(id);
  const selfGroup = self ? group(self) : "?";
  if (selfGroup === "node internals / native" && self) {
    const k = `${self.callFrame.functionName || "(anonymous)"} <- ${g || "?"}`;
    attribution.set(k, (attribution.get(k) ?? 0) + us);
  }
  const key = selfGroup === "node internals / native" || selfGroup === "(program)" ? g || selfGroup : selfGroup;
  charged.set(key, (charged.get(key) ?? 0) + us);
}
const busy = total - (groups.get("idle") ?? 0);
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s busy (percentages of busy)`);
console.log("\n## self time by group");
for (const [g, us] of [...groups].filter(([g]) => g !== "idle").sort((a, b) => b[1] - a[1])) console.log(`${pct(us)}  ${g}`);
const tessera = [...groups].filter(([g]) => g.startsWith("tessera ")).reduce((sum, [, us]) => sum + us, 0);
console.log(`${pct(tessera)}  = all of Tessera's own code`);
console.log("\n## self time with native/internal time charged to the nearest JS caller's group");
for (const [g, us] of [...charged]
  .filter(([g]) => g !== "idle")
  .sort((a, b) => b[1] - a[1])
  .slice(0, 20))
  console.log(`${pct(us)}  ${g}`);
console.log("\n## native self time by caller group (top 12)");
for (const [k, us] of [...attribution].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${pct(us)}  ${k}`);
console.log(`\n## top ${top} by inclusive time (Tessera and ioredis frames)`);
for (const [key, us] of [...inclusive]
  .filter(([k]) => k.includes("src/") || k.includes("ioredis"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top))
  console.log(`${pct(us)}  ${key}`);
console.log(`\n## top ${top} functions by self time`);
for (const [key, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  if (key.startsWith("(idle)")) continue;
  console.log(`${pct(us)}  ${key}`);
}
