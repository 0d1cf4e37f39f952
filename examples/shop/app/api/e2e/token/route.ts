import { createHash } from "node:crypto";
import { connections } from "../../../../lib/sessions";

export const dynamic = "force-dynamic";

/**
 * Test-only (404 unless the server runs with TESSERA_E2E=1): does a raw session token occur
 * anywhere in the sessions table, and is its SHA-256 the id of a row? Lets the e2e test prove
 * "tokens are never stored" on the embedded PGlite, which only this process can open.
 */
export async function POST(request: Request): Promise<Response> {
  if (process.env.TESSERA_E2E !== "1") return new Response("Not found", { status: 404 });
  const { token } = (await request.json()) as { token?: unknown };
  if (typeof token !== "string" || token.length < 20) return Response.json({ error: "token required" }, { status: 400 });
  const { query } = await connections();
  const hash = createHash("sha256").update(token).digest("hex");
  const [row] = await query(
    `select count(*)::int as rows,
            count(*) filter (where position($1 in s::text) > 0)::int as with_token,
            count(*) filter (where s.id = $2)::int as with_hash
       from sessions s`,
    [token, hash],
  );
  return Response.json(row, { headers: { "Cache-Control": "no-store" } });
}
