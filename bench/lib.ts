/**
 * The library as the bench measures it: the built package (`dist/`, what an app installs), not
 * `src/` through tsx, whose keepNames transform adds a `__name` call to every closure the library
 * creates: ~8 % of a cycle's CPU without I/O (modify 37.0 vs 40.4 µs, read 19.2 vs 20.8 µs, one
 * process each way). `npm run bench` builds first; `TESSERA_BENCH_SRC=1` loads `src/` instead
 * (no build needed, for a quick look while editing). The types are the source's either way.
 */
type Root = typeof import("../src/index.js");
type Redis = typeof import("../src/stores/redis/index.js");
type Drizzle = typeof import("../src/stores/drizzle/index.js");
type Cookie = typeof import("../src/stores/cookie/index.js");
type Express = typeof import("../src/adapters/express.js");

const root = process.env.TESSERA_BENCH_SRC ? "../src/" : "../dist/";
const load = async <T>(path: string): Promise<T> => (await import(new URL(`${root}${path}`, import.meta.url).href)) as T;

export const { defineSession } = await load<Root>("index.js");
export const { redisStore, redisCache } = await load<Redis>("stores/redis/index.js");
export const { drizzleStore, migrate } = await load<Drizzle>("stores/drizzle/index.js");
export const { cookieStore } = await load<Cookie>("stores/cookie/index.js");
export const { expressSession, sessionHandler } = await load<Express>("adapters/express.js");
