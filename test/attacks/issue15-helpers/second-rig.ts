/** The second issue-15.5 attack's rig (memory store, test clock, real cookie-signature), shared by its core and tRPC files. */
import { createRequire } from "node:module";
import { expect } from "vitest";
import * as z from "zod";
import { expressSessionCookie } from "../../../src/express-session/index.js";
import { defineSession } from "../../../src/index.js";
import { memoryStore } from "../../../src/stores/memory/index.js";
import { testClock } from "../../helpers/clock.js";

const signature = createRequire(import.meta.url)("cookie-signature") as { sign(value: string, secret: string): string };
const SECRET = "second attack secret";
export const schema = z.object({ userId: z.string().optional(), cart: z.array(z.string()).default([]) });
export const legacyCookie = (sid: string) => `connect.sid=${encodeURIComponent(`s:${signature.sign(sid, SECRET)}`)}`;

export function setup(extra: { rotationGrace?: number; followSeconds?: number } = {}) {
  const clock = testClock(Date.now());
  const map = new Map();
  const legacy = expressSessionCookie({
    secrets: SECRET,
    ...(extra.followSeconds === undefined ? {} : { followSeconds: extra.followSeconds }),
  });
  const sessions = defineSession({
    schema,
    store: memoryStore({ map }),
    legacy,
    now: clock.now,
    ...(extra.rotationGrace === undefined ? {} : { rotationGrace: { seconds: extra.rotationGrace } }),
  });
  return { sessions, map, clock };
}

export const tokenOf = (cookies: string[]) =>
  cookies
    .find((value) => value.startsWith("__Host-sid="))
    ?.split(";")[0]
    ?.slice(11) as string;

/** Claims the imported session `sid` through its legacy cookie and returns the new token. */
export async function claim(sessions: ReturnType<typeof setup>["sessions"], sid: string): Promise<string> {
  const session = await sessions.load(legacyCookie(sid));
  const token = tokenOf(await session.commit());
  expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  return token;
}
