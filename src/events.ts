/** What `onEvent` receives: security-relevant moments, carrying a short tag, never a token or hash. */
export interface SessionEvent {
  type:
    | "tampered"
    | "unknown"
    | "corrupt"
    | "invalid"
    | "created"
    | "rotated"
    | "destroyed"
    | "revoked"
    | "interrupted"
    | "cache-down"
    | "cache-up";
  /** A 12-hex-digit tag derived one-way from the session id, for correlating events. */
  tag?: string;
  /** Session keys concerned (`invalid`: the keys dropped). */
  keys?: readonly string[];
  /** How many sessions (`revoked`). */
  count?: number;
}

/** Receives security events; must not throw (errors it throws are swallowed). */
export type EventHandler = (event: SessionEvent) => void;
