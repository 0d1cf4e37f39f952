import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpSubscriptionLink, TRPCClientError } from "@trpc/client";
import { initTRPC, type TRPCError } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { parseSetCookie } from "cookie";
import { EventSource } from "eventsource";
import { afterEach, describe, expect, it } from "vitest";
import * as z from "zod";
import { createSessionContext, type SessionContextOptions, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type SessionManager, SessionStoreError, SessionUsageError } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";
import { openPglite } from "../helpers/databases.js";
import {
  type ContractSessions,
  closedStore,
  devErrorPage,
  type ServeScenario,
  sessionErrorContract,
} from "./adapter-contract.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
});
type Sessions = SessionManager<typeof schema>;

function makeRouter(sessions: Sessions, options?: SessionContextOptions) {
  const createContext = createSessionContext(sessions, options);
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
    /** Changes the session after its first event: the response, and its headers, are gone by then. */
    feed: procedure.subscription(async function* ({ ctx }) {
      yield ctx.session.get("theme");
      ctx.session.set("theme", "dark");
      yield ctx.session.get("theme");
    }),
    /** Changes the session before it hands tRPC the events, so before the response starts. */
    preset: procedure.subscription(({ ctx }) => {
      ctx.session.set("theme", "dark");
      return (async function* () {
        yield ctx.session.get("theme");
      })();
    }),
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
async function serve(
  sessions: Sessions,
  errors: unknown[] = [],
  options: SessionContextOptions &
    Pick<Parameters<typeof fetchRequestHandler<AppRouter>>[0], "responseMeta" | "allowMethodOverride"> = {},
): Promise<string> {
  const { responseMeta, allowMethodOverride, ...contextOptions } = options;
  const { router, createContext } = makeRouter(sessions, contextOptions);
  const onError = ({ error }: { error: TRPCError }) => errors.push(error.cause);
  const server = createServer(
    getRequestListener((req) =>
      fetchRequestHandler({
        endpoint: "/trpc",
        req,
        router,
        createContext,
        onError,
        ...(responseMeta === undefined ? {} : { responseMeta }),
        ...(allowMethodOverride === undefined ? {} : { allowMethodOverride }),
      }),
    ),
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

describe("tesserae/trpc over HTTP", () => {
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

  it("R18: Cache-Control: private, no-store with a session cookie, Vary: Cookie whenever the session was read", async () => {
    const { client, last } = browser(await serve(memorySessions()));
    await client.state.query();
    expect(last().headers.get("vary")).toMatch(/\bCookie\b/);
    expect(last().headers.get("cache-control")).toBeNull();
    await client.add.mutate("apple");
    expect(last().headers.get("cache-control")).toBe("private, no-store");
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

  it("httpBatchStreamLink with cookieCache: reads and data writes of a stored session succeed without the snapshot cookie", async () => {
    const errors: unknown[] = [];
    const sessions = defineSession({
      schema,
      store: memoryStore(),
      cookieCache: { maxAge: "30s", secrets: "a-cookie-cache-secret-of-32-characters!!" },
    });
    const seeded = await sessions.load(null);
    seeded.set("userId", "u1");
    const setCookies = await seeded.commit();
    expect(setCookies.map((header) => parseSetCookie(header).name)).toEqual([cookieName, `${cookieName}.cache`]);
    const streaming = browser(await serve(sessions, errors), { stream: true });
    // Only the session cookie: each load reads the store and would send a snapshot, which a
    // streamed response (headers already out) cannot carry: it is dropped, not an error.
    streaming.state.cookie = cookieHeader([setCookies[0] as string]);
    expect((await streaming.client.state.query()).userId).toBe("u1");
    expect(await streaming.client.add.mutate("apple")).toBe(1);
    expect((await streaming.client.state.query()).cart).toEqual([{ sku: "apple", qty: 1 }]);
    expect(errors).toEqual([]);
    expect(streaming.state.responses.every((response) => response.headers.getSetCookie().length === 0)).toBe(true);
  });

  it("httpBatchStreamLink: data writes to a stored session work; a write needing a new cookie fails loudly (R20)", async () => {
    const errors: unknown[] = [];
    const url = await serve(memorySessions(), errors);
    const streaming = browser(url, { stream: true });
    const error = await streaming.client.add.mutate("apple").catch((e: unknown) => e);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("INTERNAL_SERVER_ERROR");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SessionUsageError);
    expect((errors[0] as SessionUsageError).code).toBe("SESSION_USAGE");
    expect(streaming.state.cookie).toBeUndefined();

    const batch = browser(url);
    await batch.client.add.mutate("apple");
    streaming.state.cookie = batch.state.cookie;
    expect(await streaming.client.add.mutate("pear")).toBe(2);
    expect((await streaming.client.state.query()).cart).toHaveLength(2);
  });
});

describe("issue 12.3: httpBatchStreamLink, whose headers leave before procedures finish", () => {
  it("issue 12.3: a change that needs a new cookie throws SessionUsageError before the store is touched: a new session is not stored, a login does not rotate", async () => {
    const counted = countingStore(memoryStore());
    const sessions = defineSession({ schema, store: counted.store });
    const errors: unknown[] = [];
    const streaming = browser(await serve(sessions, errors), { stream: true });
    await expect(streaming.client.add.mutate("apple")).rejects.toBeInstanceOf(TRPCClientError);
    expect(writes(counted.calls)).toBe(0); // no orphan: the new session's record was never written

    const session = await sessions.load(undefined);
    session.set("theme", "dark");
    const cookie = cookieHeader(await session.commit());
    streaming.state.cookie = cookie;
    counted.reset();
    await expect(streaming.client.login.mutate("u1")).rejects.toBeInstanceOf(TRPCClientError);
    await expect(streaming.client.logout.mutate()).rejects.toBeInstanceOf(TRPCClientError);
    expect(writes(counted.calls)).toBe(0);
    expect(errors.every((cause) => cause instanceof SessionUsageError)).toBe(true);
    expect(errors).toHaveLength(3);
    expect((await sessions.load(cookie)).get("theme")).toBe("dark"); // the cookie the client holds still works
  });
});

describe("issue 12.2: responseMeta cannot put a session cookie under a shared-cache header", () => {
  const cache = "public, max-age=600";
  for (const form of ["object", "Headers"] as const) {
    it(`issue 12.2: responseMeta's ${form} form asking for public, max-age=600: a response with the session cookie (set or cleared) has private, no-store; one without keeps the app's header`, async () => {
      const responseMeta = () => ({
        headers: form === "object" ? { "cache-control": cache } : new Headers({ "cache-control": cache }),
      });
      const { client, last } = browser(await serve(memorySessions(), [], { responseMeta }));
      await client.add.mutate("apple");
      expect(last().headers.getSetCookie()).toHaveLength(1);
      expect(last().headers.get("cache-control")).toBe("private, no-store");
      await client.add.mutate("pear"); // a data write to a stored session sends no cookie: the caching is the app's
      expect(last().headers.getSetCookie()).toEqual([]);
      expect(last().headers.get("cache-control")).toBe(cache);
      expect(last().headers.get("vary")).toMatch(/\bCookie\b/);
      await client.logout.mutate();
      expect(parseSetCookie(last().headers.getSetCookie()[0] as string).maxAge).toBe(0);
      expect(last().headers.get("cache-control")).toBe("private, no-store");
    });
  }

  it("issue 12.2: a session error's answer keeps no-store whatever responseMeta returns", async () => {
    const { sessions, cookie } = await closedStore(schema);
    const { client, state, last } = browser(
      await serve(sessions, [], { responseMeta: () => ({ headers: { "cache-control": cache } }) }),
    );
    state.cookie = cookie;
    const error = await client.state.query().catch((e: unknown) => e);
    expect((error as TRPCClientError<AppRouter>).data?.code).toBe("SERVICE_UNAVAILABLE");
    expect(last().headers.get("cache-control")).toBe("no-store");
  });
});

/** A tRPC client over httpSubscriptionLink (a real EventSource over fetch), sending `cookie`. */
function subscriber(url: string, cookie: string | undefined) {
  const responses: Response[] = [];
  const link = httpSubscriptionLink({
    url,
    EventSource,
    eventSourceOptions: {
      fetch: async (input, init) => {
        const headers = { ...init?.headers, ...(cookie === undefined ? {} : { cookie }) };
        const response = await fetch(input, { ...init, headers });
        responses.push(response);
        return response;
      },
    },
  });
  return { client: createTRPCClient<AppRouter>({ links: [link] }), responses };
}

/**
 * Every event of one subscription until it completes or fails. tRPC's client takes an
 * INTERNAL_SERVER_ERROR event as retryable (the EventSource reconnects), so a failure is seen as
 * the connection state's error.
 */
function events(
  subscribe: (handlers: {
    onData(data: unknown): void;
    onError(error: unknown): void;
    onComplete(): void;
    onConnectionStateChange(state: { error: unknown }): void;
  }) => { unsubscribe(): void },
): Promise<{ data: unknown[]; error: unknown }> {
  return new Promise((resolve) => {
    const data: unknown[] = [];
    const end = (error: unknown) => {
      resolve({ data, error }); // first: unsubscribing completes the observer
      subscription.unsubscribe();
    };
    const subscription = subscribe({
      onData: (value) => data.push(value),
      onError: end,
      onComplete: () => resolve({ data, error: null }),
      onConnectionStateChange: ({ error }) => {
        if (error) end(error);
      },
    });
  });
}

describe("issue 12.3: a subscription's session is read-only once its response has started", () => {
  it("issue 12.3: set() after the first event throws SessionUsageError (an error event reaches the client) and nothing is stored", async () => {
    const sessions = memorySessions();
    const errors: unknown[] = [];
    const url = await serve(sessions, errors);
    const session = await sessions.load(undefined);
    session.set("cart", [{ sku: "apple", qty: 1 }]);
    const cookie = cookieHeader(await session.commit());
    const { client, responses } = subscriber(url, cookie);
    const { data, error } = await events((handlers) => client.feed.subscribe(undefined, handlers));
    expect(data).toEqual(["light"]);
    expect(error).toBeInstanceOf(TRPCClientError);
    // The client may have reconnected (tRPC retries a 500 event) before it unsubscribed: each run failed alike.
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((cause) => cause instanceof SessionUsageError)).toBe(true);
    expect(responses[0]?.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect((await sessions.load(cookie)).get("theme")).toBe("light");
  });

  it("issue 12.3: a change made before the subscription hands tRPC its events is committed, and a new session's cookie goes out on the event stream", async () => {
    const sessions = memorySessions();
    const { client, responses } = subscriber(await serve(sessions), undefined);
    const { data, error } = await events((handlers) => client.preset.subscribe(undefined, handlers));
    expect({ data, error }).toEqual({ data: ["dark"], error: null });
    const setCookies = responses[0]?.headers.getSetCookie() ?? [];
    expect(setCookies).toHaveLength(1);
    // tRPC's own `no-cache, no-transform` for event streams comes first; ours is added to it.
    expect(responses[0]?.headers.get("cache-control")).toMatch(/\bprivate, no-store$/);
    expect((await sessions.load(cookieHeader(setCookies))).get("theme")).toBe("dark");
  });
});

describe("issue 12.4: cross-site state-changing requests are refused before the session loads", () => {
  const crossSite = { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" };

  /** A stored, logged-in session and its cookie. */
  async function loggedIn(sessions: Sessions) {
    const session = await sessions.load(undefined);
    session.set("userId", "u1");
    return cookieHeader(await session.commit());
  }

  it("issue 12.4: a cross-site multipart/form-data POST of an input-less mutation (logout, the attack) is FORBIDDEN: the session lives on, no Set-Cookie; with csrf: false it runs", async () => {
    const sessions = memorySessions();
    const cookie = await loggedIn(sessions);
    const formPost = (url: string) =>
      fetch(`${url}/logout`, { method: "POST", body: new FormData(), headers: { ...crossSite, Cookie: cookie } });
    const refused = await formPost(await serve(sessions));
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { data: { code: string } } }).error.data.code).toBe("FORBIDDEN");
    expect(refused.headers.getSetCookie()).toEqual([]);
    expect(refused.headers.get("cache-control")).toBe("no-store");
    expect((await sessions.load(cookie)).get("userId")).toBe("u1");

    const unprotected = await formPost(await serve(sessions, [], { csrf: false }));
    expect(unprotected.status).toBe(200);
    expect((await sessions.load(cookie)).isNew).toBe(true);
  });

  it("issue 12.4: a cross-site batch is refused whole, a query sent by POST (allowMethodOverride) too; a cross-site GET query passes; trustedOrigins let a named origin through", async () => {
    const sessions = memorySessions();
    const cookie = await loggedIn(sessions);
    const url = await serve(sessions, [], { allowMethodOverride: true });
    const post = (path: string, headers: Record<string, string>, body: string) =>
      fetch(`${url}/${path}`, {
        method: "POST",
        body,
        headers: { ...headers, Cookie: cookie, "Content-Type": "application/json" },
      });
    const batch = await post("add,logout?batch=1", crossSite, JSON.stringify({ 0: "apple" }));
    expect(batch.status).toBe(403);
    expect(((await batch.json()) as { error: { data: { code: string } } }[]).map((answer) => answer.error.data.code)).toEqual([
      "FORBIDDEN",
      "FORBIDDEN",
    ]);
    expect((await post("state", crossSite, "")).status).toBe(403);
    const read = await fetch(`${url}/state`, { headers: { ...crossSite, Cookie: cookie } });
    expect(read.status).toBe(200);
    expect((await sessions.load(cookie)).get("cart")).toEqual([]);

    const trusting = await serve(sessions, [], { csrf: { trustedOrigins: ["https://admin.example"] } });
    const trusted = await fetch(`${trusting}/add`, {
      method: "POST",
      body: JSON.stringify("apple"),
      headers: {
        Origin: "https://admin.example",
        "Sec-Fetch-Site": "cross-site",
        Cookie: cookie,
        "Content-Type": "application/json",
      },
    });
    expect(trusted.status).toBe(200);
    expect((await sessions.load(cookie)).get("cart")).toEqual([{ sku: "apple", qty: 1 }]);
  });
});

/**
 * The shared scenario through tRPC: `/me` is a query (GET), the other paths mutations (POST),
 * served by fetchRequestHandler with the adapter's defaults (csrf on). `/cached-login` asks for
 * `Cache-Control: public, max-age=600` through `responseMeta`'s object form. tRPC's default
 * `isDev` (NODE_ENV is not "production") puts an error's stack into the JSON body, as a
 * development server does.
 */
const serveScenario: ServeScenario = async (sessions: ContractSessions, pause) => {
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    me: procedure.query(({ ctx }) => ({ userId: ctx.session.get("userId") ?? null })),
    login: procedure.mutation(({ ctx }) => ctx.session.set("userId", "u1")),
    "cached-login": procedure.mutation(({ ctx }) => ctx.session.set("userId", "u1")),
    "write-throw": procedure.mutation(({ ctx }) => {
      ctx.session.set("userId", "admin");
      throw new Error("check failed");
    }),
    pause: procedure.mutation(async ({ ctx }) => {
      ctx.session.set("cart", [{ sku: "p", qty: 1 }]);
      await pause();
    }),
    "pause-rotate": procedure.mutation(async ({ ctx }) => {
      await pause();
      await ctx.session.rotate();
    }),
  });
  const responseMeta = ({ paths }: { paths: readonly string[] | undefined }) =>
    paths?.includes("cached-login") ? { headers: { "cache-control": "public, max-age=600" } } : {};
  const server = createServer(
    getRequestListener((req) =>
      fetchRequestHandler({ endpoint: "/trpc", req, router, createContext, responseMeta }).catch(devErrorPage),
    ),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    async request(path, cookie, init) {
      const response = await fetch(`${origin}/trpc${path}`, {
        method: path === "/me" ? "GET" : "POST",
        headers: {
          "Content-Type": "application/json",
          ...init?.headers,
          ...(cookie === undefined ? {} : { Cookie: cookie }),
        },
      });
      if (path !== "/me" || response.status !== 200) return response;
      // The scenario reads `/me` as plain JSON: unwrap tRPC's `{ result: { data } }` envelope.
      const { result } = (await response.json()) as { result: { data: unknown } };
      return Response.json(result.data, { status: response.status, headers: response.headers });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve()) && server.closeAllConnections()),
  };
};

describe("tesserae/trpc: the shared session-error scenario", () => sessionErrorContract(serveScenario));
