import { cache } from "react";
import { getSession } from "tesserae/next";
import { getSessions } from "./sessions";

/**
 * This request's session in Server Components (`getSession` reads `await cookies()`), loaded
 * once per request: the layout and the page share it. Read-only here, since Server Components
 * cannot set cookies: writes go through tRPC mutations, and `proxy.ts` refreshes the rolling
 * expiry.
 */
export const currentSession = cache(async () => getSession(await getSessions()));
