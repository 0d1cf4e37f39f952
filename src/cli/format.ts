/** Human output: counts with thousands separators, the same whatever the operator's locale. */
const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** `200000` → `"200,000"`. */
export const count = (n: number) => integer.format(n);

/** `3, "session"` → `"3 sessions"`; `1` → `"1 session"`. */
export const counted = (n: number, noun: string) => `${count(n)} ${noun}${n === 1 ? "" : "s"}`;

/** Seconds for a sentence: two decimals below one second (a small purge is not "0.0 s"), else one. */
export const seconds = (s: number) => `${s.toFixed(s < 1 ? 2 : 1)} s`;

/** Rows as aligned columns: the first left-aligned, the others right-aligned (numbers). */
export function table(rows: readonly (readonly string[])[], indent = ""): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) => {
      const cells = row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)));
      return indent + cells.join("  ").trimEnd();
    })
    .join("\n");
}
