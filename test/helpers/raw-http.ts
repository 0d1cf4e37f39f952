import { connect } from "node:net";

/**
 * One HTTP/1.1 request written byte for byte to `url`'s host (loopback), for headers `fetch`
 * will not send: duplicates, NUL, sizes past its checks. Resolves with the status line's code
 * and the whole answer once the server closes the connection.
 */
export function rawRequest(
  url: string,
  requestLine: string,
  headers: readonly string[],
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${requestLine}\r\n${[...headers, "Connection: close", "Content-Length: 0"].join("\r\n")}\r\n\r\n`, "latin1");
    });
    let text = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
  });
}
