import { getSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/** Issue 12.9: a privilege write, then a failed check. */
export const POST = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  session.set("userId", "admin");
  throw new Error("check failed");
});
