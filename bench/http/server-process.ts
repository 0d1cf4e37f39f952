import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AppEnv, AppKind } from "./apps.js";

const ENTRY = fileURLToPath(new URL("./server.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** The server process's CPU time (user + system) and the requests it has served, since it started. */
export interface ServerUsage {
  cpuUs: number;
  requests: number;
}

export interface ServerProcess {
  port: number;
  usage(): Promise<ServerUsage>;
  /** Asks the server to close and waits for it to exit; kills it if it does not. */
  stop(): Promise<void>;
}

/**
 * Starts one app in its own Node process, so the client's CPU (this process) is not charged to
 * the server. `execArgv` is added to the child's flags (e.g. `--cpu-prof`).
 */
export async function startServer(kind: AppKind, env: AppEnv, execArgv: readonly string[] = []): Promise<ServerProcess> {
  const child = fork(ENTRY, [kind, env.redisUrl, env.redisPrefix], {
    cwd: ROOT, // `--import tsx` resolves from here
    execArgv: ["--import", "tsx", ...execArgv],
    // Express's production mode, as a deployed app runs; the same for all three apps.
    env: { ...process.env, NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "inherit", "ipc"],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    if (child.connected) child.send("stop");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };
  const usage = () =>
    new Promise<ServerUsage>((resolve, reject) => {
      const onMessage = (message: { usage?: ServerUsage }) => {
        if (message?.usage === undefined) return;
        child.off("message", onMessage);
        resolve(message.usage);
      };
      child.on("message", onMessage);
      if (!child.connected) reject(new Error(`${kind} server: gone`));
      else child.send("usage");
    });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${kind} server: not listening after ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      child.once("message", (message: { port?: unknown }) => {
        clearTimeout(timer);
        if (typeof message?.port === "number") resolve(message.port);
        else reject(new Error(`${kind} server: unexpected message ${JSON.stringify(message)}`));
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${kind} server exited (${signal ?? code}) before listening`));
      });
      child.once("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return { port, usage, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
