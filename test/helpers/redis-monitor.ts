import { Redis } from "ioredis";
import { createToken } from "../../src/token.js";
import { freePort, startRedis } from "./redis-server.js";

/**
 * Every command a client sends, in order, seen through MONITOR (commands run inside scripts
 * left out): how the tests count round trips.
 */
export async function monitorCommands(client: Redis) {
  const monitor = await client.monitor();
  let seen: string[][] = [];
  const markers = new Map<string, () => void>();
  monitor.on("monitor", (_time: string, args: string[], source: string) => {
    const arrived = args[0]?.toLowerCase() === "echo" ? markers.get(args[1] ?? "") : undefined;
    if (arrived) arrived();
    else if (source !== "lua") seen.push(args);
  });
  return {
    /** Waits until MONITOR has caught up with everything sent so far, then hands it over. */
    async take(): Promise<string[][]> {
      const marker = `marker-${createToken()}`;
      const arrived = new Promise<void>((resolve) => markers.set(marker, resolve));
      await client.echo(marker);
      await arrived;
      const taken = seen;
      seen = [];
      return taken;
    },
    stop: () => {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

/** A private redis-server from `base` up, a client on it, and a MONITOR watching that client. */
export async function monitoredRedis(base: number) {
  const server = await startRedis(await freePort(base));
  const redis = new Redis({ host: "127.0.0.1", port: server.port });
  const watcher = await monitorCommands(new Redis({ host: "127.0.0.1", port: server.port }));
  return {
    server,
    redis,
    watcher,
    async stop() {
      watcher.stop();
      redis.disconnect();
      await server.stop();
    },
  };
}
