import { type NextRequest, NextResponse } from "next/server";
import { sessionMiddleware } from "tesserae/next";
import { getManagers } from "./lib/sessions";

type Proxy = (request: NextRequest) => Promise<NextResponse>;
let proxies: Promise<{ main: Proxy; rolling: Proxy }> | undefined;

function build() {
  return getManagers().then(({ sessions, rolling }) => ({
    main: sessionMiddleware(sessions, {
      response: (request, session) => {
        const path = request.nextUrl.pathname;
        if (path === "/ab") {
          // A first visitor's A/B bucket, then the static page of that variant.
          if (session.get("bucket") === undefined) session.set("bucket", "a");
          return NextResponse.rewrite(new URL("/static", request.url));
        }
        if (path === "/ab-session") {
          // The same for a dynamic page that reads the session: it must see the bucket just set.
          if (session.get("bucket") === undefined) session.set("bucket", "b");
          return NextResponse.rewrite(new URL("/session", request.url));
        }
        if (path === "/ab-redirect") {
          session.set("bucket", "b");
          return NextResponse.redirect(new URL("/static", request.url));
        }
        if (path === "/plain") {
          // Issue 12.8: a plain Response, not a NextResponse.
          session.set("visits", session.get("visits") + 1);
          return new Response("answered by the proxy", { status: 200, headers: { "Cache-Control": "public, max-age=600" } });
        }
        if (request.nextUrl.searchParams.has("visit")) session.set("visits", session.get("visits") + 1);
        return NextResponse.next();
      },
    }),
    // `/rolling/<path>`: the rolling manager (a refresh on every request), then `<path>` by rewrite.
    rolling: sessionMiddleware(rolling, {
      response: (request, session) => {
        if (request.nextUrl.searchParams.has("visit")) session.set("visits", session.get("visits") + 1);
        return NextResponse.rewrite(new URL(request.nextUrl.pathname.slice("/rolling".length) || "/", request.url));
      },
    }),
  }));
}

export async function proxy(request: NextRequest) {
  proxies ??= build();
  const { main, rolling } = await proxies;
  return request.nextUrl.pathname.startsWith("/rolling/") ? rolling(request) : main(request);
}

export const config = { matcher: ["/((?!_next/|favicon.ico).*)"] };
