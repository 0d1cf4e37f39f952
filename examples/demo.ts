/**
 * `npm run demo`: one browser's visit, request by request, on the embedded default
 * (PGlite, in memory: no server to install). Each step prints the cookie the browser sent,
 * the Set-Cookie it got back, and the session data the server holds.
 */
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import * as z from "zod";
import { defineSession, type Session } from "../src/index.js";
import { drizzleStore, migrate } from "../src/stores/drizzle/index.js";

const schema = z.object({
  userId: z.string().optional(),
  cart: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).default([]),
  theme: z.enum(["light", "dark"]).default("light"),
  notice: z.string().optional(),
  lastSeen: z.date().optional(),
});

const client = new PGlite();
const db = drizzle({ client });
await migrate(db);
const sessions = defineSession({ schema, store: drizzleStore({ db }), cookie: { secure: false } });

let browserCookie: string | undefined;

type Handler = (session: Session<typeof schema>) => Promise<string | undefined> | string | undefined;

async function request(title: string, handle: Handler): Promise<void> {
  const session = await sessions.load(browserCookie ?? "");
  const note = await handle(session);
  const setCookies = await session.commit();
  console.log(`\n${title}`);
  if (note !== undefined) console.log(`  ${note}`);
  console.log(`  sent cookie : ${browserCookie ? `${browserCookie.slice(0, 16)}…` : "(none)"}`);
  for (const setCookie of setCookies) {
    console.log(`  Set-Cookie  : ${setCookie.replace(/=([A-Za-z0-9_-]{12})[A-Za-z0-9_-]+;/, "=$1…;")}`);
    const pair = setCookie.split(";")[0] ?? "";
    browserCookie = pair.endsWith("=") ? undefined : pair;
  }
  if (setCookies.length === 0) console.log("  Set-Cookie  : (none: the cookie stays as it is)");
  console.log(`  data        : ${JSON.stringify(session.all())}`);
}

await request("1. First visit: reading defaults stores nothing and sets no cookie", (s) => `theme       : ${s.get("theme")}`);
await request("2. The visitor picks a theme: the session is created", (s) => {
  s.set("theme", "dark");
  return undefined;
});
await request(
  "3. Login: login() rotates to a new token; an anonymous session keeps its data (the old token is dead)",
  async (s) => {
    // Had the session held another user, login() would clear it first: nothing of theirs carries over.
    await s.login("userId", "user_42");
    s.set("lastSeen", new Date());
    return undefined;
  },
);
await request("4. Add to cart: only the changed key is written, no new cookie", (s) => {
  s.set("cart", [...s.get("cart"), { sku: "tea-01", qty: 2 }]);
  s.flash("notice", "Added tea to your cart");
  return undefined;
});
await request("5. Next page shows the flash once", (s) => `flash       : ${s.consumeFlash("notice")}`);
await request("6. A bad value is refused before anything changes", (s) => {
  try {
    s.set("cart", [{ sku: "tea-01", qty: -3 }]);
    return "accepted?!";
  } catch (error) {
    return `refused     : ${(error as { code: string }).code}`;
  }
});
await request("7. Logout: destroy() deletes the record and clears the cookie", async (s) => {
  await s.destroy();
  return undefined;
});

const rows = await client.query<{ n: number }>("select count(*)::int as n from sessions");
console.log(`\nSessions left in the database: ${rows.rows[0]?.n}`);
await client.close();
