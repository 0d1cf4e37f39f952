import * as z from "zod";
import type { SessionManager } from "../../src/index.js";
import { defineSession } from "../lib.js";
import { makePayload, seedParallel } from "../workload.js";

/** The bench payload as an app would declare it. */
export const benchSchema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int(), price: z.number() })).default([]),
  lastSeen: z.date().optional(),
  theme: z.enum(["light", "dark"]).default("light"),
  beta: z.boolean().default(false),
  newsletter: z.boolean().default(false),
  admin: z.boolean().default(false),
});

export type BenchManager = SessionManager<typeof benchSchema>;
export type BenchOptions = Omit<Parameters<typeof defineSession<typeof benchSchema>>[0], "schema">;

export const define = (options: BenchOptions): BenchManager => defineSession({ schema: benchSchema, ...options });

/** The `name=value` part of a Set-Cookie header, as the browser sends it back. */
function cookiePair(setCookie: string): string {
  const end = setCookie.indexOf(";");
  return end === -1 ? setCookie : setCookie.slice(0, end);
}

/**
 * The three operations as an app does them: `sessions.load(cookieHeader)`, `get`/`set`,
 * `commit()`, keeping the Cookie header each session's last Set-Cookie gave (cookie stores
 * re-seal on every write).
 */
export function tesseraOps(sessions: BenchManager) {
  const cookies: string[] = [];
  return {
    async seed(n: number) {
      await seedParallel(n, 16, async (i) => {
        const session = await sessions.load(null);
        session.update(makePayload(i));
        const [header] = await session.commit();
        if (header === undefined) throw new Error("seeding: commit sent no cookie");
        cookies[i] = cookiePair(header);
      });
    },
    async read(i: number) {
      const session = await sessions.load(cookies[i]);
      if (session.get("theme") === undefined || session.isNew) throw new Error(`session ${i} not found`);
      await session.commit();
    },
    async modify(i: number) {
      const session = await sessions.load(cookies[i]);
      if (session.isNew) throw new Error(`session ${i} not found`);
      session.set("lastSeen", new Date());
      const [header] = await session.commit();
      if (header !== undefined) cookies[i] = cookiePair(header);
    },
  };
}
