import { getSession, saveSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/** A write before the return, its saveSession() only in the streamed body: the cookie must still go out. */
export const GET = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  session.set("userId", "before-stream");
  const encoder = new TextEncoder();
  // pull() runs when Next reads the body: after the handler returned (highWaterMark 0).
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        controller.enqueue(encoder.encode(`saved: ${await saveSession(session)}\n`));
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { "Content-Type": "text/plain" } });
});
