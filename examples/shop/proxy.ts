import type { NextRequest } from "next/server";
import { sessionMiddleware } from "tesserae/next";
import { getSessions } from "./lib/sessions";

/**
 * Pages are Server Components, which cannot set cookies: this proxy refreshes a due rolling
 * expiry (at most once per `touchAfter`) by re-sending the cookie with the page's response.
 */
export async function proxy(request: NextRequest) {
  return sessionMiddleware(await getSessions())(request);
}

export const config = { matcher: ["/((?!api/|_next/|favicon.ico).*)"] };
