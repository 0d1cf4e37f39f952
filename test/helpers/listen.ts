import { createServer, type RequestListener, type Server } from "node:http";
import { serve } from "@hono/node-server";

/** A server listening on 127.0.0.1: its URL, and `close`, which also ends kept-alive connections. */
type Listening = { url: string; close(): Promise<void> };

function listening(server: Server, port: number): Listening {
  const close = () => new Promise<void>((done) => server.close(() => done()) && server.closeAllConnections());
  return { url: `http://127.0.0.1:${port}`, close };
}

/** Serves `fetch` over real HTTP on 127.0.0.1 (a free port) through @hono/node-server. */
export async function listen(fetch: (request: Request) => Response | Promise<Response>): Promise<Listening> {
  return new Promise((resolve) => {
    const server = serve({ fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
      resolve(listening(server as Server, info.port));
    });
  });
}

/** Serves a Node request listener (an Express app, 4 or 5) over real HTTP on 127.0.0.1 (a free port). */
export async function listenNode(listener: RequestListener): Promise<Listening> {
  return new Promise((resolve) => {
    const server = createServer(listener).listen(0, "127.0.0.1", () => {
      resolve(listening(server, (server.address() as { port: number }).port));
    });
  });
}
