import { getSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

export const GET = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  return Response.json({ userId: session.get("userId") ?? null, visits: session.get("visits") });
});
