import { expect, it } from "vitest";
import { type SessionManager, SessionUsageError } from "../../../src/index.js";
import { cookieHeader } from "../../helpers/cookies.js";
import { type appSchema, type ContractScope, makeSessions, type StoreHarness, serverOnly } from "./setup.js";

/** Listing, revocation and purging (R25, R30). */
export function queriesContract(harness: () => StoreHarness, scope: ContractScope): void {
  const serverIt = serverOnly(scope);
  async function loggedIn(sessions: SessionManager<typeof appSchema>, userId: string, theme: "light" | "dark") {
    const s = await sessions.load(undefined);
    s.update({ userId, theme });
    return cookieHeader(await s.commit());
  }

  serverIt("findMany lists a user's live sessions with metadata and data, never tokens", async () => {
    const { sessions, clock } = makeSessions(harness());
    const a = await loggedIn(sessions, "u1", "light");
    clock.advance(10);
    await loggedIn(sessions, "u1", "dark");
    await loggedIn(sessions, "u2", "dark");
    const list = await sessions.findMany({ where: { userId: "u1" } });
    expect(list.map((s) => s.data.theme)).toEqual(["dark", "light"]); // newest first
    expect(list[0]?.tag).toMatch(/^[0-9a-f]{12}$/);
    expect(list[1]?.tag).toBe((await sessions.load(a)).tag); // the "this device" mark of a devices page
    expect(JSON.stringify(list)).not.toContain(a.split("=")[1]);
    expect(await sessions.findMany({ where: { userId: "u1" }, limit: 1 })).toHaveLength(1);
    expect(await sessions.findMany({ where: { userId: "nobody" } })).toEqual([]);
  });

  serverIt("R25: revoke logs a user out everywhere but the current session", async () => {
    const { sessions } = makeSessions(harness());
    const keep = await loggedIn(sessions, "u1", "light");
    const other = await loggedIn(sessions, "u1", "dark");
    const bystander = await loggedIn(sessions, "u2", "dark");
    const current = await sessions.load(keep);
    expect(await sessions.revoke({ where: { userId: "u1" }, except: current })).toBe(1);
    expect((await sessions.load(other)).isNew).toBe(true);
    expect((await sessions.load(keep)).get("userId")).toBe("u1");
    expect((await sessions.load(bystander)).get("userId")).toBe("u2");
    expect(await sessions.revoke({ where: { userId: "u1" } })).toBe(1);
  });

  serverIt("revoke's `except` must be a session: a look-alike is a SessionUsageError and nothing is deleted", async () => {
    const { sessions } = makeSessions(harness());
    const keep = await loggedIn(sessions, "u1", "light");
    const current = await sessions.load(keep);
    const lookAlike = { ...current, tag: current.tag } as unknown as typeof current;
    await expect(sessions.revoke({ where: { userId: "u1" }, except: lookAlike })).rejects.toBeInstanceOf(SessionUsageError);
    expect((await sessions.load(keep)).get("userId")).toBe("u1");
  });

  it("revoke and findMany refuse an empty where rather than match every session", async () => {
    const { sessions } = makeSessions(harness());
    await expect(sessions.revoke({ where: {} })).rejects.toBeInstanceOf(SessionUsageError);
    await expect(sessions.findMany({ where: { userId: undefined } })).rejects.toBeInstanceOf(SessionUsageError);
  });

  serverIt("R30: purgeExpired deletes only expired records, in batches, and is idempotent", async () => {
    const h = harness();
    const { sessions, clock } = makeSessions(h, { maxAge: "1h", rolling: false });
    for (let i = 0; i < 7; i++) await loggedIn(sessions, `old${i}`, "light");
    clock.advance(1800);
    const fresh = await loggedIn(sessions, "new", "dark");
    clock.advance(1801);
    const progress: number[] = [];
    if (h.expiresByItself) {
      // The backend drops expired records on its own; purging is a no-op and they never load.
      expect(await sessions.purgeExpired({ batchSize: 3, onProgress: (n) => progress.push(n) })).toBe(0);
      expect(progress).toEqual([]);
      expect(await sessions.findMany({ where: { userId: "old0" } })).toEqual([]);
    } else {
      expect(await sessions.purgeExpired({ batchSize: 3, onProgress: (n) => progress.push(n) })).toBe(7);
      expect(progress).toEqual([3, 6, 7]);
      expect(await h.count()).toBe(1);
      expect(await sessions.purgeExpired()).toBe(0);
    }
    expect((await sessions.load(fresh)).get("userId")).toBe("new");
  });
}
