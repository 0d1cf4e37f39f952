import { Redis } from "ioredis";
import { redisStore } from "../lib.js";
import { type BenchEnv, type Contender, makePayload, seedParallel } from "../workload.js";
import { type BenchManager, define } from "./tessera-common.js";

/** Its table label: not one of the `--check` bars' names, so it counts toward none of them. */
export const NAME = "Tessera redisStore + cookieCache";

/**
 * Tessera on `redisStore` with the opt-in cookie-cache tier (issue 14). The window is long
 * enough for the whole run, so every read is the read of a session whose snapshot is fresh (no
 * Redis call) and every modify is a patch plus a new snapshot: the tier's best case, beside
 * plain `Tessera redisStore`.
 */
export async function create(env: BenchEnv): Promise<Contender> {
  const redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 1 });
  redis.on("error", () => {});
  const sessions = define({
    store: redisStore({ redis, prefix: env.redisPrefix }),
    cookieCache: { maxAge: "1h", secrets: "bench-cookie-cache-secret-0123456789abcdef" },
  });
  return {
    name: NAME,
    backend: "redis",
    ...browserOps(sessions),
    async close() {
      redis.disconnect();
    },
  };
}

/** `tesseraOps` with a cookie jar per session: the session cookie and the snapshot both ride back. */
function browserOps(sessions: BenchManager) {
  const jars: Map<string, string>[] = [];
  const header = (i: number) => [...(jars[i] as Map<string, string>)].map(([name, value]) => `${name}=${value}`).join("; ");
  const apply = (i: number, setCookies: readonly string[]) => {
    jars[i] ??= new Map();
    const jar = jars[i];
    for (const setCookie of setCookies) {
      const end = setCookie.indexOf(";");
      const pair = end === -1 ? setCookie : setCookie.slice(0, end);
      const at = pair.indexOf("=");
      if (/;\s*Max-Age=0(;|$)/i.test(setCookie)) jar.delete(pair.slice(0, at));
      else jar.set(pair.slice(0, at), pair.slice(at + 1));
    }
  };
  return {
    async seed(n: number) {
      await seedParallel(n, 16, async (i) => {
        const session = await sessions.load(null);
        session.update(makePayload(i));
        const setCookies = await session.commit();
        if (setCookies.length !== 2) throw new Error("seeding: expected the session cookie and its snapshot");
        apply(i, setCookies);
      });
    },
    async read(i: number) {
      const session = await sessions.load(header(i));
      if (session.get("theme") === undefined || session.isNew) throw new Error(`session ${i} not found`);
      apply(i, await session.commit());
    },
    async modify(i: number) {
      const session = await sessions.load(header(i));
      if (session.isNew) throw new Error(`session ${i} not found`);
      session.set("lastSeen", new Date());
      apply(i, await session.commit());
    },
  };
}
