/**
 * Issue 14 attack on the adapters with `cookieCache` on: tRPC over real HTTP (httpBatchLink and
 * httpBatchStreamLink, one browser's cookie jar of both cookies), Express and Hono. No 500s, the
 * snapshot travels beside the session cookie, and a write the snapshot cannot follow (a streamed
 * response) is characterised: what the browser reads and what the store keeps afterwards.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, type TRPCClientError } from "@trpc/client";
import { initTRPC, type TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { parseSetCookie } from "cookie";
import express from "express";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { expressSession } from "../../src/adapters/express.js";
import { withSession } from "../../src/adapters/fetch.js";
import { honoSession } from "../../src/adapters/hono.js";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type SessionManager, type SessionUsageError } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { countingStore } from "../helpers/counting-store.js";

const SECRET = "issue14-adapters-cookie-cache-secret-0123456789";
const schema = z.object({ cart: z.array(z.string()).default([]), role: z.enum(["user", "admin"]).optional() });
type Sessions = SessionManager<typeof schema>;

function makeRouter(sessions: Sessions) {
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    cart: procedure.query(({ ctx }) => ctx.session.get("cart")),
    role: procedure.query(({ ctx }) => ctx.session.get("role") ?? null),
    add: procedure.input(z.string()).mutation(({ ctx, input }) => {
      ctx.session.set("cart", [...ctx.session.get("cart"), input]);
      return ctx.session.get("cart");
    }),
    demote: procedure.mutation(({ ctx }) => {
      ctx.session.set("role", "user");
    }),
    login: procedure.mutation(async ({ ctx }) => {
      await ctx.session.rotate();
      ctx.session.set("role", "admin");
    }),
  });
  return { router, createContext };
}
type AppRouter = ReturnType<typeof makeRouter>["router"];
type LinkFetch = NonNullable<Parameters<typeof httpBatchLink>[0]["fetch"]>;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(sessions: Sessions, errors: unknown[]): Promise<string> {
  const { router, createContext } = makeRouter(sessions);
  const server = createServer(
    getRequestListener((req) =>
      fetchRequestHandler({
        endpoint: "/trpc",
        req,
        router,
        createContext,
        onError: ({ error }: { error: TRPCError }) => errors.push(error.cause ?? error),
      }),
    ),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
}

/** One browser: a jar of every cookie it was sent, shared by a batch client and a streaming client. */
function browser(url: string) {
  const jar = new Map<string, string>();
  const statuses: number[] = [];
  const fetchWithJar: LinkFetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (jar.size > 0) headers.set("cookie", [...jar].map(([n, v]) => `${n}=${v}`).join("; "));
    const response = await fetch(input, {
      method: init?.method ?? "GET",
      body: init?.body ?? null,
      headers,
      signal: init?.signal ?? null,
    });
    for (const setCookie of response.headers.getSetCookie()) {
      const { name, value, maxAge } = parseSetCookie(setCookie, { decode: (v) => v });
      if (maxAge === 0) jar.delete(name);
      else jar.set(name, value ?? "");
    }
    statuses.push(response.status);
    return response;
  };
  return {
    jar,
    statuses,
    batch: createTRPCClient<AppRouter>({ links: [httpBatchLink({ url, fetch: fetchWithJar })] }),
    stream: createTRPCClient<AppRouter>({ links: [httpBatchStreamLink({ url, fetch: fetchWithJar })] }),
  };
}

function rig() {
  const counted = countingStore(memoryStore());
  const sessions = defineSession({
    schema,
    store: counted.store,
    cookie: { secure: false, name: "sid" },
    cookieCache: { maxAge: "30s", secrets: SECRET },
  });
  return { sessions, ...counted };
}

describe("issue 14 adapters with cookieCache: tRPC", () => {
  it("httpBatchLink: a batch of reads and writes sends both cookies once, reads then come from the snapshot, no errors", async () => {
    const t = rig();
    const errors: unknown[] = [];
    const b = browser(await serve(t.sessions, errors));
    const [first, second] = await Promise.all([b.batch.add.mutate("a"), b.batch.add.mutate("b")]);
    expect([first, second]).toEqual([["a"], ["a", "b"]]);
    expect([...b.jar.keys()].sort()).toEqual(["sid", "sid.cache"]);
    t.reset();
    expect(await Promise.all([b.batch.cart.query(), b.batch.role.query()])).toEqual([["a", "b"], null]);
    expect(t.calls.get).toBe(0);
    expect(errors).toEqual([]);
    expect(b.statuses.every((s) => s === 200)).toBe(true);
  });

  for (const order of [
    ["login", "add"],
    ["add", "login"],
  ] as const) {
    it(`httpBatchLink batch [${order}] on a stored session with a snapshot: the response keeps the new session cookie and a snapshot of the end state`, async () => {
      const t = rig();
      const errors: unknown[] = [];
      const b = browser(await serve(t.sessions, errors));
      await b.batch.add.mutate("a");
      const oldToken = b.jar.get("sid");
      await Promise.all(order.map((op) => (op === "login" ? b.batch.login.mutate() : b.batch.add.mutate("x"))));
      expect(errors).toEqual([]);
      expect(b.jar.get("sid")).not.toBe(oldToken);
      const stored = await t.sessions.load(`sid=${b.jar.get("sid")}`);
      expect({ role: stored.get("role"), cart: stored.get("cart") }).toEqual({ role: "admin", cart: ["a", "x"] });
      // What the browser reads next (from its snapshot, if any) is the same.
      expect(await Promise.all([b.batch.role.query(), b.batch.cart.query()])).toEqual(["admin", ["a", "x"]]);
    });
  }

  it("httpBatchStreamLink: a write to a session read from the browser's snapshot is refused before the store (no 500, nothing written, no Set-Cookie)", async () => {
    const t = rig();
    const errors: unknown[] = [];
    const b = browser(await serve(t.sessions, errors));
    await b.batch.add.mutate("a");
    const before = new Map(b.jar);
    const error = await b.stream.add.mutate("b").catch((e: unknown) => e);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(errors).toHaveLength(1);
    expect((errors[0] as SessionUsageError).code).toBe("SESSION_USAGE");
    expect(b.jar).toEqual(before);
    const stored = await t.sessions.load(`sid=${b.jar.get("sid")}`);
    expect(stored.get("cart")).toEqual(["a"]);
  });

  it("httpBatchStreamLink: reads from the snapshot still work; a write without a snapshot in the jar works and sends no cookie", async () => {
    const t = rig();
    const errors: unknown[] = [];
    const b = browser(await serve(t.sessions, errors));
    await b.batch.add.mutate("a");
    expect(await b.stream.cart.query()).toEqual(["a"]);
    b.jar.delete("sid.cache");
    expect(await b.stream.add.mutate("b")).toEqual(["a", "b"]);
    expect(b.jar.has("sid.cache")).toBe(false);
    expect(errors).toEqual([]);
  });

  // Was a DEFECT (the snapshot of a streamed write was dropped, so the next read-modify-write
  // started from the stale snapshot and erased the write): every acknowledged write survives.
  it("httpBatchStreamLink: one browser's writes in sequence, streamed and batched: every acknowledged write is kept", async () => {
    const t = rig();
    const b = browser(await serve(t.sessions, []));
    await b.batch.add.mutate("a");
    const streamed = await b.stream.add.mutate("b").then(
      () => true,
      () => false,
    );
    await b.batch.add.mutate("c");
    const stored = await t.sessions.load(`sid=${b.jar.get("sid")}`);
    expect(stored.get("cart")).toEqual(streamed ? ["a", "b", "c"] : ["a", "c"]);
    expect(streamed).toBe(false);
  });

  it("httpBatchStreamLink, a privilege drop (role admin -> user) from a snapshot-loaded session: refused, so the snapshot never disagrees with the store", async () => {
    const t = rig();
    const b = browser(await serve(t.sessions, []));
    // Seed role admin through the manager, and give the browser its cookies.
    const seeded = await t.sessions.load(null);
    seeded.set("role", "admin");
    for (const setCookie of await seeded.commit()) {
      const { name, value } = parseSetCookie(setCookie, { decode: (v) => v });
      b.jar.set(name, value ?? "");
    }
    await expect(b.stream.demote.mutate()).rejects.toBeDefined();
    expect((await t.sessions.load(`sid=${b.jar.get("sid")}`)).get("role")).toBe("admin");
    await b.batch.demote.mutate();
    expect(await b.batch.role.query()).toBe("user");
  });
});

/** A plain HTTP app per adapter: GET /add?item=x writes, GET /cart reads; each answers through `call`. */
type Call = (path: string, cookie: string | undefined) => Promise<Response>;

async function expressCall(sessions: Sessions): Promise<Call> {
  const app = express()
    .use(expressSession(sessions))
    .get("/add", (req, res) => {
      const session = (req as unknown as { session: Awaited<ReturnType<Sessions["load"]>> }).session;
      session.set("cart", [...session.get("cart"), String(req.query.item)]);
      res.json(session.get("cart"));
    })
    .get("/cart", (req, res) => {
      res.json((req as unknown as { session: Awaited<ReturnType<Sessions["load"]>> }).session.get("cart"));
    });
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return (path, cookie) => fetch(base + path, { headers: cookie === undefined ? {} : { cookie } });
}

function honoCall(sessions: Sessions): Call {
  const app = new Hono<{ Variables: { session: Awaited<ReturnType<Sessions["load"]>> } }>()
    .use(honoSession(sessions))
    .get("/add", (c) => {
      const session = c.get("session");
      session.set("cart", [...session.get("cart"), c.req.query("item") as string]);
      return c.json(session.get("cart"));
    })
    .get("/cart", (c) => c.json(c.get("session").get("cart")));
  return async (path, cookie) =>
    app.fetch(new Request(`http://localhost${path}`, { headers: cookie === undefined ? {} : { cookie } }));
}

function fetchCall(sessions: Sessions): Call {
  const handler = withSession(sessions, (request, session) => {
    const url = new URL(request.url);
    if (url.pathname === "/add") session.set("cart", [...session.get("cart"), url.searchParams.get("item") as string]);
    return Response.json(session.get("cart"));
  });
  return async (path, cookie) =>
    handler(new Request(`http://localhost${path}`, { headers: cookie === undefined ? {} : { cookie } }));
}

for (const [label, make] of [
  ["express", expressCall],
  ["hono", honoCall],
  ["fetch", fetchCall],
] as const) {
  describe(`issue 14 adapters with cookieCache: ${label}`, () => {
    it("a write sends both cookies; a read beside the snapshot makes no store call and sends nothing; the session cookie alone gets a snapshot; hostile and orphan snapshots are never a 500", async () => {
      const t = rig();
      const call = await make(t.sessions);
      const jar = new Map<string, string>();
      const header = () => [...jar].map(([n, v]) => `${n}=${v}`).join("; ");
      const keep = (response: Response) => {
        for (const setCookie of response.headers.getSetCookie()) {
          const { name, value, maxAge } = parseSetCookie(setCookie, { decode: (v) => v });
          if (maxAge === 0) jar.delete(name);
          else jar.set(name, value ?? "");
        }
        return response;
      };
      const write = keep(await call("/add?item=a", undefined));
      expect(write.status).toBe(200);
      expect(write.headers.getSetCookie().map((c) => c.split("=")[0])).toEqual(["sid", "sid.cache"]);
      expect(write.headers.get("cache-control")).toContain("no-store");
      t.reset();
      const read = await call("/cart", header());
      expect(await read.json()).toEqual(["a"]);
      expect(read.headers.getSetCookie()).toEqual([]);
      expect(t.calls.get).toBe(0);
      // Only the session cookie: a store read, and the snapshot is sent (Express' settled fast path too).
      const bare = await call("/cart", `sid=${jar.get("sid")}`);
      expect(bare.status).toBe(200);
      expect(bare.headers.getSetCookie().map((c) => c.split("=")[0])).toEqual(["sid.cache"]);
      for (const junk of ["%00", "v2.2.AAAAAAAA.AAAA.AAAA", "x".repeat(3000), "\u00e9t\u00e9"]) {
        const hostile = await call("/cart", `sid=${jar.get("sid")}; sid.cache=${junk}`);
        expect(hostile.status).toBe(200);
        expect(await hostile.json()).toEqual(["a"]);
      }
      const orphan = await call("/cart", `sid.cache=${jar.get("sid.cache")}`);
      expect(orphan.status).toBe(200);
      expect(orphan.headers.getSetCookie().map((c) => `${c.split("=")[0]}:${parseSetCookie(c).maxAge}`)).toEqual(["sid.cache:0"]);
    });
  });
}
