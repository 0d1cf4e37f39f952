import { type Contender, makePayload, seedParallel } from "../workload.js";
import type { AppInfo } from "./apps.js";
import { httpClient, type Reply } from "./client.js";

/**
 * One app seen from its HTTP client as a store-level `Contender`, so `runCycle` drives it with the
 * same warm-up, timing, session picks and 90/10 mix as the store-level table. Every answer is
 * checked: a status other than 200 throws, and so does a read whose theme is not the session's
 * own (a lost session reads as a new one, whose default theme is "light": odd sessions catch it).
 */
export function httpContender(info: AppInfo, port: number): Contender {
  const client = httpClient(port);
  const cookies: (string | undefined)[] = [];
  const themes: string[] = [];
  const ok = (reply: Reply, what: string) => {
    if (reply.status !== 200) throw new Error(`${info.name}: ${what} answered ${reply.status}: ${reply.body.slice(0, 200)}`);
    return reply;
  };
  return {
    name: info.name,
    backend: "redis", // only the store-level table reads it
    async seed(n) {
      if (!info.seeded) return;
      await seedParallel(n, 16, async (i) => {
        const reply = ok(await client.send("POST", `/seed/${i}`, undefined), `seeding session ${i}`);
        if (reply.cookie === undefined) throw new Error(`${info.name}: seeding session ${i} sent no cookie`);
        cookies[i] = reply.cookie;
        themes[i] = makePayload(i).theme;
      });
    },
    async read(i) {
      const reply = ok(await client.send("GET", "/read", cookies[i]), `GET /read (session ${i})`);
      const { theme } = JSON.parse(reply.body) as { theme?: unknown };
      if (typeof theme !== "string" || (info.seeded && theme !== themes[i])) {
        throw new Error(`${info.name}: session ${i} read theme ${JSON.stringify(theme)}, expected ${themes[i] ?? "one"}`);
      }
      // A rolling refresh re-issues the cookie; a browser would send the new one.
      if (reply.cookie !== undefined) cookies[i] = reply.cookie;
    },
    async modify(i) {
      const reply = ok(await client.send("POST", "/modify", cookies[i]), `POST /modify (session ${i})`);
      if (reply.body !== '{"ok":true}') throw new Error(`${info.name}: POST /modify answered ${reply.body.slice(0, 200)}`);
      if (reply.cookie !== undefined) cookies[i] = reply.cookie;
    },
    async close() {
      client.close();
    },
  };
}
