/**
 * The headers every Web-standard response that carries a session gets (R18), for adapters:
 * each `Set-Cookie`, `Cache-Control: no-store` whenever a cookie goes out, and `Cookie` added to
 * `Vary`. Pure functions of `Response`/`Headers`, so the policy lives here and adapters only translate.
 */

/**
 * A copy of `response` with the session headers, because a handler's response may have
 * immutable headers (`Response.redirect`, an upstream `fetch`) or be shared between requests.
 * A status below 200 (a WebSocket upgrade) cannot be copied and is decorated in place.
 * @example return withSessionHeaders(await handler(request, session), await session.commit());
 */
export function withSessionHeaders(response: Response, cookies: readonly string[]): Response {
  const inPlace = response.status < 200;
  const headers = inPlace ? response.headers : new Headers(response.headers);
  for (const cookie of cookies) headers.append("Set-Cookie", cookie);
  if (cookies.length > 0) headers.set("Cache-Control", "no-store");
  headers.set("Vary", varyCookie(headers.get("Vary")));
  if (inPlace) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * The default answer when the store is down (R48): a bare 503, no stack trace, not cached.
 * @example if (isTesseraError(error) && error.code === "STORE_UNAVAILABLE") return storeUnavailableResponse();
 */
export function storeUnavailableResponse(): Response {
  return new Response("Service Unavailable", {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
  });
}

/** Adds `Cookie` to a Vary list unless it is there already or the list is `*`. */
function varyCookie(vary: string | null): string {
  if (vary === null || vary.trim() === "") return "Cookie";
  const fields = vary.split(",").map((field) => field.trim().toLowerCase());
  return fields.includes("*") || fields.includes("cookie") ? vary : `${vary}, Cookie`;
}
