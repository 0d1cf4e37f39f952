/** What a passthrough fetches: a publicly cacheable answer. */
export function GET() {
  return new Response("from upstream", { headers: { "Cache-Control": "public, max-age=600" } });
}
