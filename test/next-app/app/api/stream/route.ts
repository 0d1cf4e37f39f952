import { getSession, saveSession, sessionRoute } from "tesserae/next";
import { getSessions } from "../../../lib/sessions";

/**
 * Issue 12.3: a first visit whose streamed body, once the response has started, tries to write
 * the session and save it. The body reports what happened.
 */
export const GET = sessionRoute(async (_request: Request) => {
  const session = await getSession(await getSessions());
  const encoder = new TextEncoder();
  let step = 0;
  // highWaterMark 0: pull() runs only when Next reads the body, which it does once this handler
  // (and sessionRoute around it) has returned the response.
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        step++;
        if (step === 1) return controller.enqueue(encoder.encode("started\n"));
        let set = "ok";
        try {
          session.set("userId", "streamed");
        } catch (error) {
          set = (error as { code?: string }).code ?? String(error);
        }
        let saved: string;
        try {
          saved = String(await saveSession(session));
        } catch (error) {
          saved = (error as { code?: string }).code ?? String(error);
        }
        controller.enqueue(encoder.encode(`set: ${set}\nsaved: ${saved}\n`));
        controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { headers: { "Content-Type": "text/plain" } });
});
