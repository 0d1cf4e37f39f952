/**
 * Issue 15.5, a killed import: `tesserae import` is SIGKILLed part-way through 20,000 connect-redis
 * sessions (a deploy hook timed out, the machine went away); running it again finishes the job,
 * each session imported exactly once, none overwritten, every old cookie still good once.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expressSessionCookie } from "../../src/express-session/index.js";
import { defineSession } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { bin, ensureBuilt, json, tessera } from "../cli/cli.js";
import { deleteKeys, keysOn } from "../helpers/redis-keys.js";
import { importSchema } from "./fixtures/shape.js";
import { LEGACY_SECRET } from "./legacy-app.js";

const url = process.env.REDIS_URL;
const run = `${process.pid}-${Date.now().toString(36)}`;
const legacyPrefix = `i15killed-legacy-${run}:`;
const tesseraPrefix = `i15killed-tessera-${run}:`;
const config = join(import.meta.dirname, "fixtures", "app.ts");
const TOTAL = 20_000;
const env = { REDIS_URL: url ?? "", IMPORT_TESSERA_PREFIX: tesseraPrefix, IMPORT_SECRET: LEGACY_SECRET };
const args = ["import", "--config", config, "--from", "connect-redis", "--prefix", legacyPrefix, "--json", "--concurrency", "4"];

let redis: Redis;
let dir: string;

describe.skipIf(url === undefined)("a killed tesserae import, run again", () => {
  beforeAll(async () => {
    redis = new Redis(url as string, { maxRetriesPerRequest: 1 });
    dir = await mkdtemp(join(tmpdir(), "tessera-killed-import-"));
    // connect-redis's format: express-session's JSON under `<prefix><sid>`, with a TTL.
    const pipeline = redis.pipeline();
    for (let i = 0; i < TOTAL; i++) {
      const value = { cookie: { originalMaxAge: 86_400_000 }, user: { id: `u${i}`, name: `User ${i}` }, cart: [`sku-${i}`] };
      pipeline.set(`${legacyPrefix}sid${i}`, JSON.stringify(value), "EX", 86_400);
    }
    await pipeline.exec();
    await ensureBuilt();
  }, 120_000);

  afterAll(async () => {
    await deleteKeys(redis, `${legacyPrefix}*`);
    await deleteKeys(redis, `${tesseraPrefix}*`);
    redis.disconnect();
    await rm(dir, { recursive: true, force: true });
  });

  it("SIGKILL part-way, then a second run: every session imported once, the first run's counted as existing", async () => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    // Killed once some sessions, but not all, are in: what a real kill leaves.
    const deadline = Date.now() + 60_000;
    let seen = 0;
    while (Date.now() < deadline) {
      seen = (await keysOn([redis], `${tesseraPrefix}s:*`)).length;
      if (seen >= 2_000) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");
    const partial = (await keysOn([redis], `${tesseraPrefix}s:*`)).length;
    expect(partial).toBeGreaterThan(0);
    // Sessions + markers: fewer than all of them, or the kill proved nothing.
    expect(partial).toBeLessThan(2 * TOTAL);

    const sessions = defineSession({
      schema: importSchema,
      store: redisStore({ redis, prefix: tesseraPrefix }),
      legacy: expressSessionCookie({ secrets: LEGACY_SECRET, followSeconds: 0 }),
    });
    const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
    const cookieOf = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, LEGACY_SECRET)}`)}`;

    const second = json(await tessera(args, { env, cwd: dir, timeoutMs: 180_000 }));
    expect(second.read).toBe(TOTAL);
    expect(second.rejected).toBe(0);
    // Whatever the first run finished counts as existing now; together, every session once.
    expect((second.imported as number) + (second.existing as number)).toBe(TOTAL);
    expect(second.existing as number).toBeGreaterThan(0);
    expect((await keysOn([redis], `${tesseraPrefix}s:*`)).length).toBe(2 * TOTAL);

    // Old cookies from both runs' shares still log their users in, once.
    for (const i of [0, TOTAL - 1]) {
      const session = await sessions.load(cookieOf(`sid${i}`));
      expect(session.get("userId")).toBe(`u${i}`);
      await session.commit();
      expect((await sessions.load(cookieOf(`sid${i}`))).get("userId")).toBeUndefined();
    }
  }, 300_000);
});
