// Minimal types for the peers' store APIs. `@types/express-session` is deliberately not
// installed: it augments Express's `Request` globally and breaks `src/adapters/express.ts`.
declare module "express-session" {
  export interface SessionData {
    cookie: { originalMaxAge: number | null; expires?: Date | string; httpOnly?: boolean; path?: string };
    [key: string]: unknown;
  }
  export class Store {
    get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void;
    set(sid: string, session: SessionData, callback?: (error?: unknown) => void): void;
    destroy(sid: string, callback?: (error?: unknown) => void): void;
    touch?(sid: string, session: SessionData, callback?: (error?: unknown) => void): void;
  }
  const session: { Store: typeof Store };
  export default session;
}

declare module "connect-pg-simple" {
  import type { Store } from "express-session";
  import type { Pool } from "pg";

  interface PGStoreOptions {
    pool?: Pool;
    ttl?: number;
    createTableIfMissing?: boolean;
    pruneSessionInterval?: false | number;
    tableName?: string;
  }
  class PGStore extends Store {
    constructor(options?: PGStoreOptions);
    close(): void;
  }
  export default function connectPgSimple(session: unknown): typeof PGStore;
}
