import { getSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/** A 304 whose handler wrote the session (a first visit): the cookie and no-store still go out. */
export const GET = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  session.set("visits", session.get("visits") + 1);
  return new Response(null, { status: 304, headers: { ETag: '"v1"', "Cache-Control": "public, max-age=600" } });
});
