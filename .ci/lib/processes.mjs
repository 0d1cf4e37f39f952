/**
 * What the CI scripts that start a server share (.ci/next-fixture.mjs, .ci/readme-commands.mjs):
 * a free loopback port, a command started in a process group of its own, and that group stopped
 * by its id with nothing left on the port. Plain Node ESM, no dependencies.
 */
import { spawn } from "node:child_process";
import { connect, createServer } from "node:net";

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A port that was free on 127.0.0.1 a moment ago (the OS's choice). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts a TCP connection on `host:port`. */
export function accepts(port, host = "127.0.0.1") {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if (error.code === "ESRCH") return false;
    throw error;
  }
}

/**
 * Spawns `command` in a process group of its own (stopped later by its id, with `stopGroup`). Its
 * output is kept in `state.output` and each chunk passed to `onOutput`; `state.exit` is set and
 * `state.exited` resolves when it exits.
 */
export function spawnGroup(command, args, options, onOutput = () => {}) {
  const child = spawn(command, args, { ...options, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const state = { child, output: "", exit: undefined };
  const keep = (chunk) => {
    const text = chunk.toString();
    state.output += text;
    onOutput(text);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  state.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      state.exit = { code, signal };
      resolve(state.exit);
    });
  });
  return state;
}

/**
 * Stops the whole process group `pgid`: SIGTERM, then SIGKILL after `graceMs` (said through
 * `log`), then up to 5 s more. Returns whether the group is gone.
 */
export async function stopGroup(pgid, graceMs, log) {
  if (groupAlive(pgid)) process.kill(-pgid, "SIGTERM");
  for (let waited = 0; groupAlive(pgid) && waited < graceMs; waited += 100) await sleep(100);
  if (groupAlive(pgid)) {
    log(`process group ${pgid} still running ${graceMs / 1000} s after SIGTERM; SIGKILL`);
    process.kill(-pgid, "SIGKILL");
    for (let waited = 0; groupAlive(pgid) && waited < 5_000; waited += 100) await sleep(100);
  }
  return !groupAlive(pgid);
}
