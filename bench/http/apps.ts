/**
 * The three Express apps of the HTTP line. This module only names them (the parent process
 * reads it); `server.ts` builds one of them per child process.
 */
import type { Express } from "express";

export type AppKind = "bare" | "express-session" | "tessera";

export interface AppInfo {
  kind: AppKind;
  /** Table label. */
  name: string;
  /** Its sessions are created before timing, and reads must return each session's own theme. */
  seeded: boolean;
}

/** The ratio column divides by this app. */
export const BASELINE_NAME = "Express + express-session + connect-redis";

/** Table order: the ceiling first, then the baseline the ratios are taken against. */
export const APPS: readonly AppInfo[] = [
  { kind: "bare", name: "Express, no session (ceiling)", seeded: false },
  { kind: "express-session", name: BASELINE_NAME, seeded: true },
  { kind: "tessera", name: "Express + Tessera (tesserae/express, redisStore)", seeded: true },
];

export interface AppEnv {
  redisUrl: string;
  /** Every Redis key the app writes starts with it (the parent deletes `${prefix}*`). */
  redisPrefix: string;
}

/**
 * One app with its clients. Routes: `GET /read` → `{ theme }`, `POST /modify` → `{ ok: true }`
 * (sets `lastSeen`), and on the session apps `POST /seed/:i`, which fills a new session with
 * `makePayload(i)` and answers with its cookie.
 */
export interface BenchApp {
  app: Express;
  close(): Promise<void>;
}

export type AppFactory = (env: AppEnv) => Promise<BenchApp>;

/** The `:i` of `/seed/:i`, or null when it is not a session index. */
export function seedIndex(param: unknown): number | null {
  const i = typeof param === "string" ? Number(param) : Number.NaN;
  return Number.isSafeInteger(i) && i >= 0 ? i : null;
}
