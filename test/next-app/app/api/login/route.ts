import { getSession, saveSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/** Logs in as "u1", saving explicitly (the pattern of a Server Action). */
export const POST = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  session.set("userId", "u1");
  await saveSession(session);
  return Response.json({ userId: "u1" });
});
export const GET = POST;
