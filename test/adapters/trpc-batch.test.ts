import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createTRPCClient, httpBatchLink } from "@trpc/client";
import { initTRPC } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { parseSetCookie } from "cookie";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as z from "zod";
import { createSessionContext, sessionMiddleware } from "../../src/adapters/trpc.js";
import { defineSession, type SessionManager, type SessionStore } from "../../src/index.js";
import { redisStore } from "../../src/stores/redis/index.js";
import { cookieHeader } from "../helpers/cookies.js";
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
    it(`issue 12.1 (${speed} store): every ordering of add/note/login/logout in one batch answers OK, sends at most one session cookie, and stores the outcome of some serial order of the batch`, async () => {
      const sessions = defineSession({ schema, store: speed === "fast" ? store : delayed(store, 3) });
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
