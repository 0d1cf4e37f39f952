import type { Server } from "node:http";
import { serve } from "@hono/node-server";

/** Serves `fetch` over real HTTP on 127.0.0.1 (a free port) through @hono/node-server. */
export async function listen(fetch: (request: Request) => Response | Promise<Response>) {
  return new Promise<{ url: string; close(): Promise<void> }>((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      const http = server as Server;
      const close = () => new Promise<void>((done) => http.close(() => done()) && http.closeAllConnections());
      resolve({ url: `http://127.0.0.1:${info.port}`, close });
    });
  });
}
