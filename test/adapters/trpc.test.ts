import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, TRPCClientError } from "@trpc/client";
import { initTRPC, type TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { parseSetCookie } from "cookie";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, SessionConfigError, type SessionManager, SessionStoreError } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { openPglite } from "../helpers/databases.js";
import { type ContractSessions, devErrorPage, type ServeScenario, sessionErrorContract } from "./adapter-contract.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
});
type Sessions = SessionManager<typeof schema>;

function makeRouter(sessions: Sessions) {
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    state: procedure.query(({ ctx }) => ({
      cart: ctx.session.get("cart"),
      theme: ctx.session.get("theme"),
      userId: ctx.session.get("userId") ?? null,
      isNew: ctx.session.isNew,
    })),
    add: procedure.input(z.string()).mutation(({ ctx, input }) => {
      ctx.session.set("cart", [...ctx.session.get("cart"), { sku: input, qty: 1 }]);
      return ctx.session.get("cart").length;
    }),
    theme: procedure.input(z.enum(["light", "dark"])).mutation(({ ctx, input }) => ctx.session.set("theme", input)),
    badQty: procedure.mutation(({ ctx }) => ctx.session.set("cart", [{ sku: "x", qty: -1 }])),
    login: procedure.input(z.string()).mutation(async ({ ctx, input }) => {
      await ctx.session.rotate();
      ctx.session.set("userId", input);
    }),
    logout: procedure.mutation(({ ctx }) => ctx.session.destroy()),
  });
  return { router, createContext };
}
type AppRouter = ReturnType<typeof makeRouter>["router"];

const servers: Server[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** fetchRequestHandler behind a real Node HTTP server on an ephemeral loopback port. */
async function serve(sessions: Sessions, errors: unknown[] = []): Promise<string> {
  const { router, createContext } = makeRouter(sessions);
  const onError = ({ error }: { error: TRPCError }) => errors.push(error.cause);
  const server = createServer(
    getRequestListener((req) => fetchRequestHandler({ endpoint: "/trpc", req, router, createContext, onError })),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
}

/** A tRPC client with a one-cookie jar, as a browser would keep it, and every raw response. */
function browser(url: string, options: { stream?: boolean } = {}) {
  const state = { cookie: undefined as string | undefined, responses: [] as Response[] };
  const fetchWithCookie: LinkFetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (state.cookie !== undefined) headers.set("cookie", state.cookie);
    const response = await fetch(input, {
      method: init?.method ?? "GET",
      body: init?.body ?? null,
      headers,
      signal: init?.signal ?? null,
    });
    for (const setCookie of response.headers.getSetCookie()) {
      const { name, value, maxAge } = parseSetCookie(setCookie, { decode: (v) => v });
      state.cookie = maxAge === 0 ? undefined : `${name}=${value}`;
    }
    state.responses.push(response);
    return response;
  };
  const link = options.stream
    ? httpBatchStreamLink({ url, fetch: fetchWithCookie })
    : httpBatchLink({ url, fetch: fetchWithCookie });
  return { client: createTRPCClient<AppRouter>({ links: [link] }), state, last: () => state.responses.at(-1) as Response };
}

/** The `fetch` tRPC's links accept. */
type LinkFetch = NonNullable<Parameters<typeof httpBatchLink>[0]["fetch"]>;

const memorySessions = () => defineSession({ schema, store: memoryStore() });
/** The default cookie name (`__Host-sid` when secure without a domain). */
const cookieName = memorySessions().cookieName;

describe("tessera/trpc over HTTP", () => {
  it("a mutation creates the session, sets the cookie, and a later query reads it back with that cookie", async () => {
    const { client, state, last } = browser(await serve(memorySessions()));
    expect(await client.add.mutate("apple")).toBe(1);
    const setCookies = last().headers.getSetCookie();
    expect(setCookies).toHaveLength(1);
    expect(parseSetCookie(setCookies[0] as string)).toMatchObject({
      name: cookieName,
      httpOnly: true,
      secure: true,
      sameSite: "lax",
    });
    expect(state.cookie).toMatch(new RegExp(`^${cookieName}=[\\w-]{43}$`));
    const cookie = state.cookie;
    expect(await client.state.query()).toEqual({ cart: [{ sku: "apple", qty: 1 }], theme: "light", userId: null, isNew: false });
    // Reading and changing data of a stored session need no new cookie.
    expect(await client.add.mutate("pear")).toBe(2);
    expect(last().headers.getSetCookie()).toEqual([]);
    expect(state.cookie).toBe(cookie);
  });

  it("R18: Cache-Control: no-store with a session cookie, Vary: Cookie whenever the session was read", async () => {
    const { client, last } = browser(await serve(memorySessions()));
    await client.state.query();
    expect(last().headers.get("vary")).toMatch(/\bCookie\b/);
    expect(last().headers.get("cache-control")).toBeNull();
    await client.add.mutate("apple");
    expect(last().headers.get("cache-control")).toBe("no-store");
    expect(last().headers.get("vary")).toMatch(/\bCookie\b/);
  });

  it("a batch of concurrent mutations on a new session stores both changes and sends one cookie", async () => {
    const sessions = memorySessions();
    const { client, last, state } = browser(await serve(sessions));
    await Promise.all([client.add.mutate("apple"), client.theme.mutate("dark")]);
    expect(state.responses).toHaveLength(1);
    expect(last().headers.getSetCookie()).toHaveLength(1);
    const session = await sessions.load(state.cookie);
    expect(session.get("theme")).toBe("dark");
    expect(session.get("cart")).toEqual([{ sku: "apple", qty: 1 }]);
  });

  it("rotate() on login sends a fresh cookie; the old cookie then reads a fresh session", async () => {
    const { client, state } = browser(await serve(memorySessions()));
    await client.add.mutate("apple");
    const before = state.cookie;
    await client.login.mutate("u1");
    expect(state.cookie).not.toBe(before);
    expect(await client.state.query()).toMatchObject({ userId: "u1", cart: [{ sku: "apple", qty: 1 }] });
    state.cookie = before;
    expect(await client.state.query()).toEqual({ cart: [], theme: "light", userId: null, isNew: true });
  });

  it("destroy() clears the cookie (same name and path, Max-Age=0) and the old cookie reads a fresh session", async () => {
    const { client, state, last } = browser(await serve(memorySessions()));
    await client.login.mutate("u1");
    const before = state.cookie;
    await client.logout.mutate();
    const cleared = parseSetCookie(last().headers.getSetCookie()[0] as string);
    expect(cleared).toMatchObject({ name: cookieName, value: "", maxAge: 0, path: "/" });
    expect(state.cookie).toBeUndefined();
    state.cookie = before;
    expect(await client.state.query()).toMatchObject({ userId: null, isNew: true });
  });

  it("a malformed or unknown cookie is a fresh session, not an error", async () => {
    const { client, state } = browser(await serve(memorySessions()));
    for (const cookie of [`${cookieName}=garbage`, `${cookieName}=${"A".repeat(43)}`, `${cookieName}=%ZZ`]) {
      state.cookie = cookie;
      expect(await client.state.query()).toEqual({ cart: [], theme: "light", userId: null, isNew: true });
    }
  });

  it("B6: a value the schema refuses is BAD_REQUEST, without a stack even in isDev, and nothing is stored", async () => {
    const { client, state } = browser(await serve(memorySessions()));
    const error = await client.badQty.mutate().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("BAD_REQUEST");
    expect((error as TRPCClientError<AppRouter>).data?.stack).toBeUndefined();
    expect(state.cookie).toBeUndefined();
  });

  it("a store that is down is 503 SERVICE_UNAVAILABLE, without the driver's message", async () => {
    const database = await openPglite();
    const sessions = defineSession({ schema, store: database.store, storeTimeout: 0.5 });
    const errors: unknown[] = [];
    const { client, state, last } = browser(await serve(sessions, errors));
    await client.add.mutate("apple");
    const cookie = state.cookie;
    await database.close();
    for (const call of [() => client.state.query(), () => client.add.mutate("pear")]) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TRPCClientError);
      const { data, message } = error as TRPCClientError<AppRouter>;
      expect(data?.code).toBe("SERVICE_UNAVAILABLE");
      expect(data?.httpStatus).toBe(503);
      expect(message).toBe("Service Unavailable");
      expect(last().status).toBe(503);
      expect(JSON.stringify(data)).not.toMatch(/pglite|closed/i);
      expect(state.cookie).toBe(cookie);
    }
    // Without a cookie the load needs no store; the first save fails the same way.
    state.cookie = undefined;
    const error = await client.add.mutate("pear").catch((e: unknown) => e);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("SERVICE_UNAVAILABLE");
    expect(state.cookie).toBeUndefined();
    // The driver's error stays on the server, for onError.
    expect(errors.every((cause) => cause instanceof SessionStoreError)).toBe(true);
  });

  it("httpBatchStreamLink: data writes to a stored session work; a write needing a new cookie fails loudly (R20)", async () => {
    const errors: unknown[] = [];
    const url = await serve(memorySessions(), errors);
    const streaming = browser(url, { stream: true });
    const error = await streaming.client.add.mutate("apple").catch((e: unknown) => e);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SessionConfigError);
    expect((errors[0] as SessionConfigError).code).toBe("CONFIG");
    expect(streaming.state.cookie).toBeUndefined();

    const batch = browser(url);
    await batch.client.add.mutate("apple");
    streaming.state.cookie = batch.state.cookie;
    expect(await streaming.client.add.mutate("pear")).toBe(2);
    expect((await streaming.client.state.query()).cart).toHaveLength(2);
  });
});

/**
 * The error scenario through tRPC: `/me` is a query (GET), `/login` and `/pause` mutations (POST),
 * served by fetchRequestHandler. tRPC's default `isDev` (NODE_ENV is not "production") puts an
 * error's stack into the JSON body, as a development server does.
 */
const serveScenario: ServeScenario = async (sessions: ContractSessions, pause) => {
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    me: procedure.query(({ ctx }) => ({ userId: ctx.session.get("userId") ?? null })),
    login: procedure.mutation(({ ctx }) => ctx.session.set("userId", "u1")),
    pause: procedure.mutation(async ({ ctx }) => {
      ctx.session.set("cart", [{ sku: "p", qty: 1 }]);
      await pause();
    }),
    "pause-rotate": procedure.mutation(async ({ ctx }) => {
      await pause();
      await ctx.session.rotate();
    }),
  });
  const server = createServer(
    getRequestListener((req) => fetchRequestHandler({ endpoint: "/trpc", req, router, createContext }).catch(devErrorPage)),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
  return {
    request: (path, cookie) =>
      fetch(url + path, {
        method: path === "/me" ? "GET" : "POST",
        headers: { "Content-Type": "application/json", ...(cookie === undefined ? {} : { Cookie: cookie }) },
      }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()),
  };
};

describe("tessera/trpc: the shared session-error scenario", () => sessionErrorContract(serveScenario));
