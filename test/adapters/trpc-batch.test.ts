import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, TRPCClientError } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { parseSetCookie } from "cookie";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type SessionManager, type SessionStore } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { cookieHeader } from "../helpers/cookies.js";
import { countingStore, writes } from "../helpers/counting-store.js";
import { databaseUrl, openPostgresJs, type TestDatabase } from "../helpers/databases.js";
import { keysOn } from "../helpers/redis-keys.js";
import { redisUrl } from "../helpers/redis-server.js";

/**
 * Issue 12.1 through tRPC itself: every ordering of batches of `add` (a cart write), `note`
 * (another key), `login` (rotate, then userId) and `logout` (destroy), sent by httpBatchLink over
 * real HTTP to fetchRequestHandler, on Postgres and Redis, with the store answering at once and
 * with each store call delayed. The procedures of a batch run concurrently on one session; the
 * outcome must be that of running them one after another in some order (docs/adapters.md).
 */
const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.string()).default([]),
  note: z.string().optional(),
});
type Sessions = SessionManager<typeof schema>;

type Op = "add" | "note" | "login" | "logout";
const ops: readonly Op[] = ["add", "note", "login", "logout"];

function makeRouter(sessions: Sessions) {
  const createContext = createSessionContext(sessions);
  const t = initTRPC.context<Awaited<ReturnType<typeof createContext>>>().create();
  const procedure = t.procedure.use(sessionMiddleware);
  const router = t.router({
    add: procedure.input(z.string()).mutation(({ ctx, input }) => {
      ctx.session.set("cart", [...ctx.session.get("cart"), input]);
      return ctx.session.get("cart").length;
    }),
    note: procedure.input(z.string()).mutation(({ ctx, input }) => ctx.session.set("note", input)),
    login: procedure.input(z.string()).mutation(async ({ ctx, input }) => {
      await ctx.session.rotate();
      ctx.session.set("userId", input);
    }),
    logout: procedure.mutation(({ ctx }) => ctx.session.destroy()),
  });
  return { router, createContext };
}
type AppRouter = ReturnType<typeof makeRouter>["router"];

/** Each call of the real store waits `ms` first: the interleavings a slower store or network gives. */
function delayed(store: SessionStore, ms: number): SessionStore {
  const later = <T>(call: () => Promise<T>) => new Promise((resolve) => setTimeout(resolve, ms)).then(call);
  return {
    ...store,
    get: (...args) => later(() => store.get(...args)),
    create: (...args) => later(() => store.create(...args)),
    replace: (...args) => later(() => store.replace(...args)),
    patch: (...args) => later(() => store.patch(...args)),
    touch: (...args) => later(() => store.touch(...args)),
    rotate: (...args) => later(() => store.rotate(...args)),
    delete: (...args) => later(() => store.delete(...args)),
  };
}

/** What a session holds, as the model and a load with the final cookie see it. */
interface State {
  exists: boolean;
  cart: string[];
  note: string | null;
  userId: string | null;
}
const fresh: State = { exists: false, cart: [], note: null, userId: null };

/** The state after `batch` ran one procedure after another in `order`. */
function serial(start: State, order: readonly Op[]): State {
  let state = start;
  for (const op of order) {
    if (op === "add") state = { ...state, exists: true, cart: [...state.cart, "apple"] };
    if (op === "note") state = { ...state, exists: true, note: "hello" };
    if (op === "login") state = { ...state, exists: true, userId: "u1" };
    if (op === "logout") state = fresh;
  }
  return state;
}

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Every ordered pair, and every ordering of the triples that contain login. */
const batches: Op[][] = [
  ...ops.flatMap((a) => ops.filter((b) => b !== a).map((b) => [a, b])),
  ...ops
    .filter((op) => op !== "login")
    .flatMap((a, i, others) => others.slice(i + 1).flatMap((b) => permutations<Op>(["login", a, b]))),
];

type LinkFetch = NonNullable<Parameters<typeof httpBatchLink>[0]["fetch"]>;

/** Sends `batch` as one httpBatchLink request with `cookie`; the answers and the one raw response. */
async function sendBatch(url: string, batch: readonly Op[], cookie: string | undefined) {
  const responses: Response[] = [];
  const fetchWithCookie: LinkFetch = async (input, init) => {
    const headers = new Headers(init?.headers);
    if (cookie !== undefined) headers.set("cookie", cookie);
    const response = await fetch(input, { method: init?.method ?? "GET", body: init?.body ?? null, headers });
    responses.push(response);
    return response;
  };
  const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url, fetch: fetchWithCookie })] });
  const calls = batch.map((op) => {
    if (op === "add") return client.add.mutate("apple");
    if (op === "note") return client.note.mutate("hello");
    if (op === "login") return client.login.mutate("u1");
    return client.logout.mutate();
  });
  const answers = await Promise.allSettled(calls);
  return { answers, responses };
}

async function serve(sessions: Sessions, servers: Server[]): Promise<string> {
  const { router, createContext } = makeRouter(sessions);
  const server = createServer(
    getRequestListener((req) => fetchRequestHandler({ endpoint: "/trpc", req, router, createContext })),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
}

async function stateOf(sessions: Sessions, cookie: string | undefined): Promise<State> {
  const session = await sessions.load(cookie);
  return {
    exists: !session.isNew,
    cart: session.get("cart"),
    note: session.get("note") ?? null,
    userId: session.get("userId") ?? null,
  };
}

/** Runs every batch from a stored session and (pairs) from none, on `store`. */
function batchSuite(open: () => Promise<{ store: SessionStore; close(): Promise<void> }>): void {
  const servers: Server[] = [];
  let store: SessionStore;
  let close = async () => {};
  beforeAll(async () => {
    ({ store, close } = await open());
  });
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    await close();
  });

  for (const speed of ["fast", "delayed"] as const) {
    it(`issue 12.1 (${speed} store): every ordering of add/note/login/logout in one batch answers OK (no interrupted event), sends one session cookie when it must and none otherwise, and stores the outcome of some serial order of the batch`, async () => {
      const interrupted: string[] = [];
      const sessions = defineSession({
        schema,
        store: speed === "fast" ? store : delayed(store, 3),
        onEvent: (event) => {
          if (event.type === "interrupted") interrupted.push(event.type);
        },
      });
      const url = await serve(sessions, servers);
      const failures: string[] = [];
      const runs = [
        ...batches.map((batch) => ({ batch, seeded: true })),
        ...batches.filter((batch) => batch.length === 2).map((batch) => ({ batch, seeded: false })),
      ];
      for (const { batch, seeded } of runs) {
        const label = `${seeded ? "stored" : "new"} session, [${batch.join(", ")}]`;
        let before: string | undefined;
        let start = fresh;
        if (seeded) {
          const session = await sessions.load(undefined);
          session.update({ cart: ["seed"], note: "n0", userId: "u0" });
          before = cookieHeader(await session.commit());
          start = await stateOf(sessions, before);
        }
        const { answers, responses } = await sendBatch(url, batch, before);
        const refused = answers.flatMap((answer, i) => (answer.status === "rejected" ? [`${batch[i]}: ${answer.reason}`] : []));
        if (refused.length > 0) failures.push(`${label}: refused ${refused.join("; ")}`);
        if (responses.length !== 1) failures.push(`${label}: ${responses.length} HTTP responses`);
        const setCookies = (responses[0]?.headers.getSetCookie() ?? []).filter(
          (setCookie) => parseSetCookie(setCookie).name === sessions.cookieName,
        );
        const identity = batch.includes("login") || batch.includes("logout");
        const expected = identity || !seeded ? 1 : 0;
        if (setCookies.length !== expected)
          failures.push(`${label}: ${setCookies.length} session Set-Cookie, expected ${expected}`);
        let after = before;
        const [setCookie] = setCookies;
        if (setCookie !== undefined) {
          const { name, value, maxAge } = parseSetCookie(setCookie, { decode: (v) => v });
          after = maxAge === 0 ? undefined : `${name}=${value}`;
        }
        const final = await stateOf(sessions, after);
        const outcomes = permutations(batch).map((order) => serial(start, order));
        const matches = outcomes.some((outcome) => JSON.stringify(outcome) === JSON.stringify(final));
        if (!matches) failures.push(`${label}: stored ${JSON.stringify(final)}, not a serial outcome`);
        if (seeded && identity && !(await sessions.load(before)).isNew) failures.push(`${label}: the old cookie still loads`);
        if (interrupted.length > 0) failures.push(`${label}: ${interrupted.splice(0).length} interrupted event(s)`);
      }
      expect(failures).toEqual([]);
    });
  }
}

describe.skipIf(!databaseUrl)("issue 12.1: tRPC batches on Postgres (drizzle over postgres.js)", () => {
  batchSuite(async () => {
    const database: TestDatabase = await openPostgresJs(databaseUrl as string);
    return { store: database.store, close: () => database.close() };
  });
});

describe.skipIf(!redisUrl)("issue 12.1: tRPC batches on Redis", () => {
  batchSuite(async () => {
    const redis = new Redis(redisUrl as string);
    const prefix = `tessera-trpc-batch-${crypto.randomUUID()}:`;
    return {
      store: redisStore({ redis, prefix }),
      async close() {
        const keys = await keysOn([redis], `${prefix}*`);
        if (keys.length > 0) await redis.del(...keys);
        redis.disconnect();
      },
    };
  });
});

/**
 * Issue 12.9 through tRPC: a procedure that fails commits nothing of its own writes, while the
 * other procedures of its batch keep theirs (docs/adapters.md). On the memory store: this is the
 * adapter's rule, the same on every store.
 */
describe("issue 12.9: a failing procedure commits nothing of its own, its batch keeps the rest", () => {
  const failSchema = schema.extend({ role: z.string().optional() });
  type FailSessions = SessionManager<typeof failSchema>;

  /** A gate a procedure waits at: the test awaits `reached`, then calls `open()`. */
  function gate() {
    let reach = () => {};
    let open = () => {};
    const reached = new Promise<void>((resolve) => {
      reach = resolve;
    });
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    const pass = () => {
      reach();
      return opened;
    };
    return { reached, open, pass };
  }

  function failRouter(sessions: FailSessions, hold = gate()) {
    const base = createSessionContext(sessions);
    const t = initTRPC.context<Awaited<ReturnType<typeof base>>>().create();
    const procedure = t.procedure.use(sessionMiddleware);
    const addResolved = gate();
    const router = t.router({
      add: procedure.input(z.string()).mutation(({ ctx, input }) => {
        ctx.session.set("cart", [...ctx.session.get("cart"), input]);
        addResolved.pass();
        return ctx.session.get("cart").length;
      }),
      privilege: procedure.mutation(({ ctx }) => {
        ctx.session.set("role", "admin");
        throw new Error("check failed");
      }),
      loginThenThrow: procedure.mutation(async ({ ctx }) => {
        await ctx.session.rotate();
        ctx.session.set("userId", "u1");
        throw new Error("check failed");
      }),
      hang: procedure.mutation(async ({ ctx }) => {
        ctx.session.set("note", "hung");
        await hold.pass();
        return "done";
      }),
      wait: procedure.query(async () => {
        await hold.pass();
        return "done";
      }),
      state: procedure.query(({ ctx }) => ctx.session.get("cart")),
      twice: procedure.use(sessionMiddleware).mutation(({ ctx }) => ctx.session.set("note", "twice")),
      note: procedure.input(z.string()).mutation(({ ctx, input }) => ctx.session.set("note", input)),
      /** Changes nothing it did not find absent, and the session's lifetime, then fails. */
      defaultsThenThrow: procedure.mutation(({ ctx }) => {
        ctx.session.setdefault("note", "default");
        ctx.session.setExpiry({ days: 300 });
        throw new Error("check failed");
      }),
    });
    return { router, createContext: base, hold, addResolved };
  }
  type FailRouter = ReturnType<typeof failRouter>["router"];

  const servers: Server[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });

  async function serveFail(sessions: FailSessions, createContext?: (base: ReturnType<typeof createSessionContext>) => unknown) {
    const app = failRouter(sessions);
    const errors: { path: string | undefined; code: string }[] = [];
    const handled: Promise<Response>[] = [];
    let errored = () => {};
    const firstError = new Promise<void>((resolve) => {
      errored = resolve;
    });
    const context = createContext === undefined ? app.createContext : createContext(app.createContext as never);
    const server = createServer(
      getRequestListener((req) => {
        const response = fetchRequestHandler({
          endpoint: "/trpc",
          req,
          router: app.router,
          createContext: context as typeof app.createContext,
          onError: ({ error, path }) => {
            errors.push({ path, code: error.code });
            errored();
          },
        });
        handled.push(response);
        return response;
      }),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
    return { url, errors, handled, firstError, hold: app.hold, addResolved: app.addResolved };
  }

  /** A tRPC client sending `cookie`, keeping every raw response. */
  function client(url: string, cookie: string | undefined, options: { stream?: boolean } = {}) {
    const responses: Response[] = [];
    const fetchWithCookie: LinkFetch = async (input, init) => {
      const headers = new Headers(init?.headers);
      if (cookie !== undefined) headers.set("cookie", cookie);
      const response = await fetch(input, {
        method: init?.method ?? "GET",
        body: init?.body ?? null,
        headers,
        signal: init?.signal ?? null,
      });
      responses.push(response);
      return response;
    };
    const link = options.stream
      ? httpBatchStreamLink({ url, fetch: fetchWithCookie })
      : httpBatchLink({ url, fetch: fetchWithCookie });
    const sessionCookies = () =>
      responses.flatMap((response) => response.headers.getSetCookie()).filter((c) => c.startsWith(`${cookieName}=`));
    return { trpc: createTRPCClient<FailRouter>({ links: [link] }), responses, sessionCookies };
  }

  const memory = () => defineSession({ schema: failSchema, store: memoryStore() });
  const cookieName = memory().cookieName;
  const stored = async (sessions: FailSessions) => {
    const session = await sessions.load(undefined);
    session.set("userId", "u0");
    return cookieHeader(await session.commit());
  };
  const codeOf = (answer: PromiseSettledResult<unknown>) =>
    answer.status === "rejected" ? ((answer.reason as TRPCClientError<FailRouter>).data?.code ?? "?") : "OK";

  for (const stream of [false, true]) {
    const link = stream ? "httpBatchStreamLink" : "httpBatchLink";
    it(`issue 12.9 (${link}): in a batch of [add, privilege] and [privilege, add] the cart is stored and the privilege is not`, async () => {
      const sessions = memory();
      const { url } = await serveFail(sessions);
      for (const order of [
        ["add", "privilege"],
        ["privilege", "add"],
      ] as const) {
        const cookie = await stored(sessions);
        const { trpc, sessionCookies } = client(url, cookie, { stream });
        const answers = await Promise.allSettled(
          order.map((op) => (op === "add" ? trpc.add.mutate("apple") : trpc.privilege.mutate())),
        );
        expect(answers.map(codeOf)).toEqual(order.map((op) => (op === "add" ? "OK" : "INTERNAL_SERVER_ERROR")));
        const session = await sessions.load(cookie);
        expect({ cart: session.get("cart"), role: session.get("role") ?? null }).toEqual({ cart: ["apple"], role: null });
        expect(sessionCookies()).toEqual([]); // a data write to a stored session needs no cookie
      }
    });
  }

  it("issue 12.9: in a new session's batch [add, privilege] the one cookie carries the cart and not the privilege", async () => {
    const sessions = memory();
    const { url } = await serveFail(sessions);
    const { trpc, sessionCookies } = client(url, undefined);
    await Promise.allSettled([trpc.add.mutate("apple"), trpc.privilege.mutate()]);
    expect(sessionCookies()).toHaveLength(1);
    const session = await sessions.load(cookieHeader(sessionCookies()));
    expect({ cart: session.get("cart"), role: session.get("role") ?? null }).toEqual({ cart: ["apple"], role: null });
  });

  it("issue 12.9: a lone failing procedure stores nothing and sends no Set-Cookie, on a new and on a stored session", async () => {
    const store = countingStore(memoryStore());
    const sessions = defineSession({ schema: failSchema, store: store.store });
    const { url } = await serveFail(sessions);
    const fresh = client(url, undefined);
    expect(codeOf((await Promise.allSettled([fresh.trpc.privilege.mutate()]))[0] as PromiseSettledResult<unknown>)).toBe(
      "INTERNAL_SERVER_ERROR",
    );
    expect(fresh.sessionCookies()).toEqual([]);
    expect(writes(store.calls)).toBe(0);

    const cookie = await stored(sessions);
    store.reset();
    const known = client(url, cookie);
    await expect(known.trpc.privilege.mutate()).rejects.toBeInstanceOf(TRPCClientError);
    expect(known.sessionCookies()).toEqual([]);
    expect(writes(store.calls)).toBe(0);
    expect((await sessions.load(cookie)).get("role")).toBeUndefined();
  });

  it("issue 12.9: rotate() then a throw: the rotation stays in the store, its write and cookie do not (alone); beside an OK procedure the rotated cookie goes out", async () => {
    const sessions = memory();
    const { url } = await serveFail(sessions);
    const cookie = await stored(sessions);
    const alone = client(url, cookie);
    await expect(alone.trpc.loginThenThrow.mutate()).rejects.toBeInstanceOf(TRPCClientError);
    expect(alone.sessionCookies()).toEqual([]);
    expect((await sessions.load(cookie)).isNew).toBe(true); // the old token died with the rotation (as Django's cycle_key before a 500)

    const again = await stored(sessions);
    const beside = client(url, again);
    const answers = await Promise.allSettled([beside.trpc.loginThenThrow.mutate(), beside.trpc.add.mutate("apple")]);
    expect(answers.map(codeOf)).toEqual(["INTERNAL_SERVER_ERROR", "OK"]);
    expect(beside.sessionCookies()).toHaveLength(1);
    const session = await sessions.load(cookieHeader(beside.sessionCookies()));
    expect({ userId: session.get("userId"), cart: session.get("cart") }).toEqual({ userId: "u0", cart: ["apple"] });
  });

  it("issue 12.9: a batch of 50 procedures with one failing commits once: 49 writes stored, the privilege not, one Set-Cookie", async () => {
    const store = countingStore(memoryStore());
    const sessions = defineSession({ schema: failSchema, store: store.store });
    const { url } = await serveFail(sessions);
    const { trpc, sessionCookies, responses } = client(url, undefined);
    const calls = Array.from({ length: 50 }, (_, i) => (i === 17 ? trpc.privilege.mutate() : trpc.add.mutate(`sku${i}`)));
    const answers = await Promise.allSettled(calls);
    expect(answers.filter((answer) => answer.status === "fulfilled")).toHaveLength(49);
    expect(responses).toHaveLength(1);
    expect(sessionCookies()).toHaveLength(1);
    expect(store.calls.create).toBe(1);
    expect(writes(store.calls)).toBe(1);
    const session = await sessions.load(cookieHeader(sessionCookies()));
    expect(session.get("cart")).toHaveLength(49);
    expect(session.get("role")).toBeUndefined();
  });

  it("a failing procedure claims only what it changed: its setdefault() of a key a sibling set takes nothing from it, and its setExpiry() is undone", async () => {
    const sessions = memory();
    const { url } = await serveFail(sessions);
    const cookie = await stored(sessions);
    const before = (await sessions.load(cookie)).expiresAt.getTime();
    const { trpc } = client(url, cookie);
    for (const noteFirst of [true, false]) {
      const note = () => trpc.note.mutate("hello");
      const fail = () => trpc.defaultsThenThrow.mutate();
      const answers = await Promise.allSettled(noteFirst ? [note(), fail()] : [fail(), note()]);
      expect(answers.map(codeOf).sort()).toEqual(["INTERNAL_SERVER_ERROR", "OK"]);
      const session = await sessions.load(cookie);
      expect(session.get("note")).toBe("hello");
      expect(session.expiresAt.getTime()).toBeLessThan(before + 86_400_000); // not 300 days
    }
  });

  it("duplicate procedures in one batch: [add, add] stores both items; [login, login] sends one cookie and the old token is dead", async () => {
    const sessions = defineSession({ schema, store: memoryStore() });
    const url = await serve(sessions, servers);
    const cookie = await stored(sessions as unknown as FailSessions);
    const adds = await sendBatch(url, ["add", "add"], cookie);
    expect(adds.answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled"]);
    expect((await sessions.load(cookie)).get("cart")).toEqual(["apple", "apple"]);
    const logins = await sendBatch(url, ["login", "login"], cookie);
    expect(logins.answers.map((a) => a.status)).toEqual(["fulfilled", "fulfilled"]);
    const setCookies = logins.responses[0]?.headers.getSetCookie() ?? [];
    expect(setCookies).toHaveLength(1);
    expect((await sessions.load(cookieHeader(setCookies))).get("userId")).toBe("u1");
    expect((await sessions.load(cookie)).isNew).toBe(true);
  });

  it("sessionMiddleware applied twice to a procedure commits its write once", async () => {
    const store = countingStore(memoryStore());
    const sessions = defineSession({ schema: failSchema, store: store.store });
    const { url } = await serveFail(sessions);
    const cookie = await stored(sessions);
    store.reset();
    await client(url, cookie).trpc.twice.mutate();
    expect(store.calls.patch).toBe(1);
    expect((await sessions.load(cookie)).get("note")).toBe("twice");
  });

  it("an error thrown by the app's createContext after the session loaded: no procedure runs, nothing stored, no Set-Cookie", async () => {
    const store = countingStore(memoryStore());
    const sessions = defineSession({ schema: failSchema, store: store.store });
    const { url } = await serveFail(sessions, (base) => async (options: Parameters<typeof base>[0]) => {
      const context = await base(options);
      context.session.set("note" as never, "from context" as never);
      throw new Error("no tenant");
    });
    const { trpc, sessionCookies } = client(url, undefined);
    const answers = await Promise.allSettled([trpc.add.mutate("apple")]);
    expect(answers.map(codeOf)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(sessionCookies()).toEqual([]);
    expect(writes(store.calls)).toBe(0);
  });

  it("httpBatchStreamLink: a read-only procedure answers while a sibling is still running (it waits for no commit)", async () => {
    const sessions = memory();
    const { url, hold } = await serveFail(sessions);
    const cookie = await stored(sessions);
    const { trpc } = client(url, cookie, { stream: true });
    const waiting = trpc.wait.query();
    const state = trpc.state.query();
    await hold.reached;
    expect(await state).toEqual([]); // answered before the gate opens: a hold here would time the test out
    hold.open();
    expect(await waiting).toBe("done");
  });

  it.each([
    ["", false],
    [" (the app's own Set-Cookie, set before and after the first commit, stays)", true],
  ])(
    "a procedure that reaches the middleware after its batch's commit started makes a second commit: one session Set-Cookie goes out, the later (rotated) one, and every write is stored%s",
    async (_, foreign) => {
      let created = () => {};
      const creating = new Promise<void>((resolve) => {
        created = resolve;
      });
      let letCreate = () => {};
      const mayCreate = new Promise<void>((resolve) => {
        letCreate = resolve;
      });
      const store = memoryStore();
      // The first commit's insert waits until the late procedure is about to enter the middleware.
      const held: SessionStore = {
        ...store,
        async create(record) {
          created();
          await mayCreate;
          return store.create(record);
        },
      };
      const sessions = defineSession({ schema: failSchema, store: held });
      const sessionContext = createSessionContext(sessions);
      // The app's own cookies: one set before the session's first commit, one between the two.
      let resHeaders: Headers | undefined;
      const base: typeof sessionContext = async (options) => {
        resHeaders = options.resHeaders;
        if (foreign) options.resHeaders.append("Set-Cookie", "pref=compact; Path=/");
        return sessionContext(options);
      };
      const t = initTRPC.context<Awaited<ReturnType<typeof base>>>().create();
      const procedure = t.procedure.use(sessionMiddleware);
      const late = t.procedure
        .use(async ({ next }) => {
          await creating;
          letCreate();
          return next();
        })
        .use(sessionMiddleware);
      const router = t.router({
        add: procedure.input(z.string()).mutation(({ ctx, input }) => ctx.session.set("cart", [input])),
        login: late.mutation(async ({ ctx }) => {
          // The first commit has put its session cookie on the response by now.
          if (foreign) resHeaders?.append("Set-Cookie", "seen=1; Path=/; HttpOnly");
          await ctx.session.rotate();
          ctx.session.set("userId", "u1");
        }),
      });
      const server = createServer(
        getRequestListener((req) => fetchRequestHandler({ endpoint: "/trpc", req, router, createContext: base })),
      );
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/trpc`;
      const responses: Response[] = [];
      const trpc = createTRPCClient<typeof router>({
        links: [
          httpBatchLink({
            url,
            fetch: async (input, init) => responses[responses.push(await fetch(input, init as RequestInit)) - 1] as Response,
          }),
        ],
      });
      await Promise.all([trpc.add.mutate("apple"), trpc.login.mutate()]);
      const all = responses[0]?.headers.getSetCookie() ?? [];
      const setCookies = all.filter((value) => value.startsWith(`${sessions.cookieName}=`));
      expect(setCookies).toHaveLength(1);
      expect(all.filter((value) => !setCookies.includes(value))).toEqual(
        foreign ? ["pref=compact; Path=/", "seen=1; Path=/; HttpOnly"] : [],
      );
      const session = await sessions.load(cookieHeader(setCookies));
      expect({ cart: session.get("cart"), userId: session.get("userId") }).toEqual({ cart: ["apple"], userId: "u1" });
    },
  );

  it("a procedure that never ends holds its batch's writers until the client aborts: they then fail and save nothing; its own later end commits only its own", async () => {
    const sessions = memory();
    const { url, hold, addResolved, firstError, errors, handled } = await serveFail(sessions);
    const cookie = await stored(sessions);
    const { trpc } = client(url, cookie);
    // One controller per call: tRPC's client aborts a batch once every call's signal has fired,
    // counting listeners, which one signal shared by both would register only once.
    const [addAbort, hangAbort] = [new AbortController(), new AbortController()];
    const answers = Promise.allSettled([
      trpc.add.mutate("apple", { signal: addAbort.signal }),
      trpc.hang.mutate(undefined, { signal: hangAbort.signal }),
    ]);
    await Promise.all([hold.reached, addResolved.reached]);
    addAbort.abort();
    hangAbort.abort();
    await firstError; // the server gave up on add
    expect(errors).toEqual([{ path: "add", code: "CLIENT_CLOSED_REQUEST" }]);
    hold.open();
    await Promise.all(handled);
    expect((await answers).map((answer) => answer.status)).toEqual(["rejected", "rejected"]);
    const session = await sessions.load(cookie);
    expect({ cart: session.get("cart"), note: session.get("note") }).toEqual({ cart: [], note: "hung" });
  });
});
