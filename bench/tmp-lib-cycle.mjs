// Cycle cost of the library loaded from LIB (dist or src), memory store, no I/O.
export async function measure(lib, memoryStore, z) {
  const schema = z.object({
    userId: z.string().optional(),
    cart: z.array(z.object({ sku: z.string(), qty: z.number().int(), price: z.number() })).default([]),
    lastSeen: z.date().optional(), theme: z.enum(["light", "dark"]).default("light"),
    beta: z.boolean().default(false), newsletter: z.boolean().default(false), admin: z.boolean().default(false),
  });
  const sessions = lib.defineSession({ schema, store: memoryStore() });
  const cookies = [];
  for (let i = 0; i < 1000; i++) {
    const s = await sessions.load(null);
    s.update({ userId: `user_${i}_${"x".repeat(24)}`, cart: Array.from({ length: 10 }, (_, k) => ({ sku: `SKU-${i}-${k}-ABCDEFGHIJKLMNOP`, qty: 1 + k % 5, price: 1.5 + k })), lastSeen: new Date(), theme: "dark", beta: true, newsletter: false, admin: false });
    const [h] = await s.commit(); cookies.push(h.split(";")[0]);
  }
  const run = async (kind, n) => {
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const s = await sessions.load(cookies[i % 1000]);
      if (kind === "modify") { s.set("lastSeen", new Date()); const [h] = await s.commit(); if (h) cookies[i % 1000] = h.split(";")[0]; }
      else { s.get("theme"); await s.commit(); }
    }
    return ((performance.now() - t) * 1000) / n;
  };
  await run("modify", 30000); await run("read", 30000);
  const out = { modify: [], read: [] };
  for (let r = 0; r < 5; r++) { out.modify.push(await run("modify", 30000)); out.read.push(await run("read", 30000)); }
  return { modify: Math.min(...out.modify).toFixed(2), read: Math.min(...out.read).toFixed(2) };
}
