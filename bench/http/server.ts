/**
 * Child-process entry: `node --import tsx bench/http/server.ts <kind> <redisUrl> <redisPrefix>`.
 * Serves one app on 127.0.0.1 (a free port, sent to the parent over IPC) until the parent sends
 * "stop" or goes away, then exits normally, so that `--cpu-prof` writes its profile. On "usage" it
 * reports its CPU time and the requests it served: CPU per request holds up better than ops/s on a
 * machine whose other load comes and goes.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { AppFactory, AppKind } from "./apps.js";

const FACTORIES: Record<AppKind, () => Promise<{ create: AppFactory }>> = {
  bare: () => import("./bare-app.js"),
  "express-session": () => import("./express-session-app.js"),
  tessera: () => import("./tessera-app.js"),
};

const [kind, redisUrl, redisPrefix] = process.argv.slice(2);
if (kind === undefined || !Object.hasOwn(FACTORIES, kind) || redisUrl === undefined || redisPrefix === undefined) {
  throw new Error("usage: server.ts <bare|express-session|tessera> <redisUrl> <redisPrefix>");
}
if (process.send === undefined) throw new Error("server.ts runs as a child process with an IPC channel (see server-process.ts)");

const { create } = await FACTORIES[kind as AppKind]();
const bench = await create({ redisUrl, redisPrefix });
const server = createServer(bench.app);
// Longer than any pause between the client's runs, so no idle keep-alive socket closes under a request.
server.keepAliveTimeout = 60_000;
let requests = 0;
server.on("request", () => {
  requests++;
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  await bench.close();
  process.exit(0);
}
process.on("message", (message) => {
  if (message === "stop") void stop();
  if (message === "usage") {
    const { user, system } = process.cpuUsage();
    process.send?.({ usage: { cpuUs: user + system, requests } });
  }
});
process.on("disconnect", () => void stop());

server.listen(0, "127.0.0.1", () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
