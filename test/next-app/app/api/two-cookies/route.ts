import { cookies } from "next/headers";
import { getSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/** The app's own cookie beside the session's: both go out, each in its own Set-Cookie. */
export const GET = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  session.set("userId", "u2");
  (await cookies()).set("theme", "dark", { path: "/", httpOnly: false });
  return Response.json({ ok: true });
});
