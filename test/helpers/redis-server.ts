import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import type { SessionStore } from "../../src/store.js";
import { redisStore } from "../../src/stores/redis/index.js";

const run = promisify(execFile);

/** The shared Redis of the run, when configured (`describe.skipIf(!redisUrl)`). */
export const redisUrl = process.env.REDIS_URL;

/** Whether tests can start their own redis-server (cluster and outage tests need it). */
export const canStartRedis = spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;

/** A redis-server this test started on 127.0.0.1, stopped by its own pid. */
export interface PrivateRedis {
  port: number;
  pid: number;
  /** Kills the server (SIGKILL: an outage, not a shutdown). */
  kill(): Promise<void>;
  /** Starts it again on the same port (after `kill`). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `count` consecutive ports from `base` up that nothing listens on (with `bus`, their +10000
 * cluster-bus ports too), so `startRedis` never mistakes someone else's server for its own.
 * Parallel test files start from different offsets; a taken block is skipped.
 */
export async function freePorts(base: number, count = 1, options: { bus?: boolean } = {}): Promise<number[]> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const first = base + (((process.pid % 250) * 8 + Math.floor(Math.random() * 250) * 8 * attempt) % 8000);
    const ports = Array.from({ length: count }, (_, i) => first + i);
    const all = options.bus ? [...ports, ...ports.map((port) => port + 10000)] : ports;
    if ((await Promise.all(all.map(isFree))).every(Boolean)) return ports;
  }
  throw new Error(`no ${count} free ports from ${base}`);
}

/** One free port from `base` up (see `freePorts`). */
export async function freePort(base: number): Promise<number> {
  return (await freePorts(base, 1))[0] as number;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Starts `redis-server` on 127.0.0.1:`port`, in a temporary directory, persisting nothing. */
export async function startRedis(port: number, extra: string[] = []): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), "tessera-redis-"));
  let child: ChildProcess;
  const launch = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extra],
      { stdio: "ignore" },
    );
    await waitForPing(port);
  };
  await launch();
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  };
  return {
    port,
    get pid() {
      return child.pid ?? -1;
    },
    kill,
    restart: launch,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A 3-master Redis Cluster on 127.0.0.1 (`ports`), created with `redis-cli --cluster create`. */
export async function startCluster(ports: number[]): Promise<{ nodes: { host: string; port: number }[]; stop(): Promise<void> }> {
  const servers: PrivateRedis[] = [];
  try {
    for (const port of ports) {
      servers.push(
        await startRedis(port, [
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
          "--cluster-node-timeout",
          "5000",
        ]),
      );
    }
    await run("redis-cli", [
      "--cluster",
      "create",
      ...ports.map((port) => `127.0.0.1:${port}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ]);
    await waitForClusterOk(ports[0] as number);
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    nodes: ports.map((port) => ({ host: "127.0.0.1", port })),
    stop: async () => {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}

async function waitForPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      client.disconnect();
    }
  }
}

async function waitForClusterOk(port: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  const client = new Redis({ port, host: "127.0.0.1" });
  try {
    for (;;) {
      const info = await client.cluster("INFO");
      if (String(info).includes("cluster_state:ok")) return;
      if (Date.now() > deadline) throw new Error("cluster did not reach cluster_state:ok");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    client.disconnect();
  }
}

/**
 * A `redisStore` on the shared server (`REDIS_URL`) under a prefix of its own, indexing
 * `indexes`; `close` deletes what it wrote and disconnects.
 */
export function sharedRedisStore(indexes: string[] = []): { store: SessionStore; close(): Promise<void> } {
  const redis = new Redis(redisUrl as string);
  const prefix = `tessera-test:${randomUUID()}:`;
  return {
    store: redisStore({ redis, prefix, indexes }),
    close: async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
