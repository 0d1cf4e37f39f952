import { getSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/** Sets the session, then answers with an upstream's response as is (`public, max-age=600`, immutable headers). */
export const GET = sessionRoute(async (request: Request) => {
  const session = await getSession(await getSessions());
  session.set("userId", "passthrough");
  return fetch(`http://${request.headers.get("host")}/api/upstream`);
});
