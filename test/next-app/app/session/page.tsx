import { connection } from "next/server";
import { getSession } from "tesserae/next";
import { getSessions } from "../../lib/sessions";

/** A page that reads the session (a Server Component: dynamic, read-only). */
export default async function SessionPage() {
  await connection(); // rendered per request, never at build time (the database is opened at run time)
  const session = await getSession(await getSessions());
  return <p id="user">{`user=${session.get("userId") ?? "none"} bucket=${session.get("bucket") ?? "none"}`}</p>;
}
