import { Agent, request } from "node:http";

export interface Reply {
  status: number;
  body: string;
  /** The `name=value` part of the response's first Set-Cookie, as a browser sends it back. */
  cookie: string | undefined;
}

export interface HttpClient {
  send(method: "GET" | "POST", path: string, cookie: string | undefined): Promise<Reply>;
  close(): void;
}

/**
 * The load generator's side: Node's own `http` over a keep-alive agent (undici is not installed),
 * one socket per request in flight, so a run's connections are opened once, in its warm-up.
 */
export function httpClient(port: number): HttpClient {
  const agent = new Agent({ keepAlive: true });
  return {
    send(method, path, cookie) {
      return new Promise((resolve, reject) => {
        // An explicit empty body: without it Node sends a POST chunked.
        const headers: Record<string, string | number> = method === "POST" ? { "content-length": 0 } : {};
        if (cookie !== undefined) headers.cookie = cookie;
        const req = request({ host: "127.0.0.1", port, method, path, headers, agent }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("error", reject);
          res.on("end", () => {
            const setCookie = res.headers["set-cookie"]?.[0];
            const end = setCookie?.indexOf(";") ?? -1;
            resolve({ status: res.statusCode ?? 0, body, cookie: end === -1 ? setCookie : setCookie?.slice(0, end) });
          });
        });
        req.on("error", reject);
        req.end();
      });
    },
    close() {
      agent.destroy();
    },
  };
}
