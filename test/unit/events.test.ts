import { describe, expect, it } from "vitest";
import * as z from "zod";
import { defineSession, type SessionEvent } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { createToken, hashToken } from "../../src/token.js";
import { cookieHeader, tokenOf } from "../helpers/cookies.js";

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe("security events", () => {
  it("R57: tamper, unknown id, create, rotate, destroy and revoke are reported with a one-way tag, never a token or hash", async () => {
    const events: SessionEvent[] = [];
    const sessions = defineSession({
      schema: z.object({ userId: z.string().optional() }),
      store: memoryStore(),
      onEvent: (event) => events.push(event),
    });
    await sessions.load(`${sessions.cookieName}=<script>`);
    const unknown = createToken();
    await sessions.load(`${sessions.cookieName}=${unknown}`);
    const s = await sessions.load(undefined);
    s.set("userId", "u1");
    const first = await s.commit();
    await s.rotate();
    const rotated = await s.commit();
    await (await sessions.load(cookieHeader(rotated))).destroy();
    const other = await sessions.load(undefined);
    other.set("userId", "u1");
    await other.commit();
    await sessions.revoke({ where: { userId: "u1" } });
    await settle();

    expect(events.map((e) => e.type)).toEqual(["tampered", "unknown", "created", "rotated", "destroyed", "created", "revoked"]);
    expect(events.find((e) => e.type === "revoked")?.count).toBe(1);
    const secrets = [unknown, tokenOf(first), tokenOf(rotated), hashToken(tokenOf(first)), hashToken(tokenOf(rotated))];
    const printed = JSON.stringify(events);
    for (const secret of secrets) expect(printed).not.toContain(secret);
    for (const event of events.filter((e) => e.type !== "tampered" && e.type !== "revoked")) {
      expect(event.tag).toMatch(/^[0-9a-f]{12}$/);
    }
  });
});
