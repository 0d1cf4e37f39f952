import express5 from "express";
import express4 from "express4";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession, sessionHandler } from "../../src/adapters/express.js";
import { defineSession } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { listenNode } from "../helpers/listen.js";
import { rawRequest } from "../helpers/raw-http.js";

const schema = z.object({ userId: z.string().optional() });
const cookieName = defineSession({ schema, store: memoryStore() }).cookieName;
const majors = [
  ["Express 5", express5],
  ["Express 4", express4 as unknown as typeof express5],
] as const;

let closing: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closing?.();
  closing = undefined;
});

function serve(express: typeof express5) {
  const sessions = defineSession({ schema, store: memoryStore() });
  const app = express();
  app.use(expressSession(sessions));
  const route = (path: string, handler: Parameters<typeof sessionHandler<typeof schema>>[1]) =>
    app.all(path, sessionHandler(sessions, handler));
  // writeHead with a flat header array repeating a name: Node keeps every value (appendHeader).
  route("/flat", (req, res) => {
    req.session.set("userId", "u1");
    res.writeHead(200, ["Set-Cookie", "a=1", "Set-Cookie", "b=2", "Cache-Control", "public, max-age=600"]);
    res.end("ok");
  });
  // The same with the object form, and a Cache-Control that must be replaced.
  route("/object", (req, res) => {
    req.session.set("userId", "u1");
    res.writeHead(200, "OK", { "cache-control": "public, max-age=600", "set-cookie": ["a=1", "b=2"] });
    res.end("ok");
  });
  return listenNode(app);
}

describe.each(majors)("attack issue 12 on %s: held writeHead headers", (_name, express) => {
  it("writeHead(200, [flat array]) with two Set-Cookies of the app: both kept beside the session's, and private, no-store", async () => {
    const server = await serve(express);
    closing = server.close;
    const response = await fetch(`${server.url}/flat`);
    const cookies = response.headers.getSetCookie().map((cookie) => cookie.split(";")[0] as string);
    expect(cookies).toContain("a=1");
    expect(cookies).toContain("b=2");
    expect(cookies.filter((cookie) => cookie.startsWith(`${cookieName}=`))).toHaveLength(1);
    expect(cookies).toHaveLength(3);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("writeHead(200, reason, {object}) with an array Set-Cookie and public Cache-Control: kept, and private, no-store", async () => {
    const server = await serve(express);
    closing = server.close;
    const response = await fetch(`${server.url}/object`);
    const cookies = response.headers.getSetCookie().map((cookie) => cookie.split(";")[0] as string);
    expect(cookies.filter((cookie) => cookie === "a=1" || cookie === "b=2")).toHaveLength(2);
    expect(cookies).toHaveLength(3);
    expect(response.headers.get("cache-control")).toBe("private, no-store");
  });

  it("lower-case method and a forged Host do not get a cross-site POST through", async () => {
    const server = await serve(express);
    closing = server.close;
    const lower = await rawRequest(server.url, "post /object HTTP/1.1", [
      `Host: ${new URL(server.url).host}`,
      "Origin: https://evil.example",
    ]);
    expect(lower.status).not.toBe(200);
    expect(lower.text).not.toMatch(/set-cookie/i);
    const noHost = await rawRequest(server.url, "POST /object HTTP/1.0", ["Origin: https://evil.example"]);
    expect(noHost.status).toBe(403);
    expect(noHost.text).not.toMatch(/set-cookie/i);
  });
});
