import type { CpuLine } from "./line.js";

const fixed = (n: number) => n.toFixed(1);

/** The CPU line as a Markdown table. */
export function cpuTable(cpu: CpuLine): string {
  return [
    "| cycle (1 KB payload, no I/O) | µs per cycle | of which the in-process store | Tessera itself |",
    "|---|---:|---:|---:|",
    `| Tessera modify (load, set one key, commit) | ${fixed(cpu.tesseraModifyUs)} | ${fixed(cpu.storeModifyUs)} | **${fixed(cpu.tesseraModifyUs - cpu.storeModifyUs)}** |`,
    `| Tessera read (load, get, commit) | ${fixed(cpu.tesseraReadUs)} | ${fixed(cpu.storeReadUs)} | **${fixed(cpu.tesseraReadUs - cpu.storeReadUs)}** |`,
    `| JSON.parse + JSON.stringify of the payload | ${fixed(cpu.jsonUs)} | — | — |`,
  ].join("\n");
}
