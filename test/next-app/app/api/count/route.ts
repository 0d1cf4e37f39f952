import { countSessions } from "../../../lib/sessions";

/** The tests' probe: how many session rows are stored (the fixture is never deployed). */
export async function GET() {
  return Response.json({ sessions: await countSessions() }, { headers: { "Cache-Control": "no-store" } });
}
