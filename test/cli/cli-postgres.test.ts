import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineSession } from "../../src/index.js";
import { drizzleStore, migrate, type PostgresDb } from "../../src/stores/drizzle/index.js";
import { redisCache } from "../../src/stores/redis/index.js";
import { tokenOf } from "../helpers/cookies.js";
import { databaseUrl } from "../helpers/databases.js";
import { canStartRedis, freePort, type PrivateRedis, startRedis } from "../helpers/redis-server.js";
import { ensureBuilt, failed, json, tessera } from "./cli.js";
import { type CliDatabase, postgresDatabase } from "./cli-databases.js";
import { describeCli } from "./cli-suite.js";
import { cliSchema } from "./fixtures/cli-sessions.js";

describeCli("PostgreSQL (postgres.js)", () => postgresDatabase(databaseUrl as string), {
  purgeCount: 200_000,
  enabled: databaseUrl !== undefined,
});

describe.skipIf(databaseUrl === undefined)("tessera CLI errors from a real PostgreSQL", () => {
  it("a server's refusal (no such database) is exit 1, one line, without the URL's password", async () => {
    await ensureBuilt();
    const url = new URL(databaseUrl as string);
    url.username = "postgres";
    url.password = "s3cr3t-pw";
    url.pathname = "/tessera_no_such_database";
    for (const args of [["migrate"], ["stats"]]) {
      const result = await tessera([...args, "--database-url", url.toString()]);
      failed(result, 1);
      expect(result.stderr).not.toContain("s3cr3t-pw");
      expect(result.stdout).not.toContain("s3cr3t-pw");
    }
  }, 120_000);
});

// A private redis-server (started and stopped by pid), so it needs no REDIS_URL.
describe.skipIf(databaseUrl === undefined || !canStartRedis)(
  "tesserae revoke --redis-url (the default table behind a redisCache)",
  () => {
    let database: CliDatabase;
    let server: PrivateRedis;
    let redis: Redis;
    beforeAll(async () => {
      await ensureBuilt();
      database = await postgresDatabase(databaseUrl as string);
      await database.use(({ db }) => migrate(db));
      server = await startRedis(await freePort(27000));
      redis = new Redis({ host: "127.0.0.1", port: server.port });
    }, 180_000);
    afterAll(async () => {
      redis?.disconnect();
      await server?.stop();
      await database?.close();
    });

    it("revoke drops the cached copies of what it deletes, so their tokens stop working at once", async () => {
      await database.use(async ({ db }) => {
        const sessions = defineSession({
          schema: cliSchema,
          store: drizzleStore({ db: db as PostgresDb }),
          cache: redisCache({ redis }),
        });
        const login = async (userId: string) => {
          const session = await sessions.load(undefined);
          session.set("userId", userId);
          return tokenOf(await session.commit());
        };
        const u1 = [await login("u_1"), await login("u_1")];
        const u2 = await login("u_2");
        // Each read once, so that each has its copy in Redis: from now on a read is served by the cache.
        for (const token of [...u1, u2]) expect(await sessions.get(token)).not.toBeNull();
        expect(await redis.dbsize()).toBeGreaterThanOrEqual(3);

        const revoke = await tessera([
          "revoke",
          "--where",
          "userId=u_1",
          "--json",
          "--database-url",
          database.url,
          "--redis-url",
          `redis://127.0.0.1:${server.port}`,
        ]);
        expect(json(revoke)).toMatchObject({ revoked: 2 });
        for (const token of u1) expect(await sessions.get(token)).toBeNull();
        expect(await sessions.get(u2)).not.toBeNull();
      });
    });
  },
);
