/**
 * Expiry maths: pure functions of the policy, the session's own override and `now` (epoch
 * ms). Nothing here reads a clock, so tests drive every case with an injected one.
 */

/** The global policy from `defineSession`, in seconds. */
export interface ExpiryPolicy {
  maxAgeSeconds: number;
  rolling: boolean;
  touchAfterSeconds: number;
  absoluteMaxAgeSeconds: number | null;
}

/**
 * A session's own expiry, set by `setExpiry` (Django's `set_expiry`): a fixed instant, an
 * idle period of its own, or a browser-session cookie (the server still applies `maxAge`).
 */
export type ExpiryOverride = { kind: "at"; atMs: number } | { kind: "idle"; seconds: number } | { kind: "browser" };

/** The hard cap for a session created at `createdAtMs`, or null without `absoluteMaxAge`. */
export function absoluteExpiry(policy: ExpiryPolicy, createdAtMs: number): number | null {
  return policy.absoluteMaxAgeSeconds === null ? null : createdAtMs + policy.absoluteMaxAgeSeconds * 1000;
}

/** When the session dies if it is written at `nowMs`: the idle (or fixed) expiry, capped by the absolute one. */
export function expiryAt(
  policy: ExpiryPolicy,
  override: ExpiryOverride | undefined,
  nowMs: number,
  absoluteMs: number | null,
): number {
  const base =
    override?.kind === "at"
      ? override.atMs
      : nowMs + (override?.kind === "idle" ? override.seconds : policy.maxAgeSeconds) * 1000;
  return absoluteMs === null ? base : Math.min(base, absoluteMs);
}

/**
 * Whether moving the stored expiry to `nextMs` is worth a write (and a Set-Cookie): only
 * once it has moved by `touchAfter`, so a busy session costs one refresh per interval (R29).
 */
export function isTouchDue(policy: ExpiryPolicy, storedMs: number, nextMs: number): boolean {
  return nextMs > storedMs && nextMs - storedMs >= policy.touchAfterSeconds * 1000;
}

/** The cookie's Max-Age in seconds for a session dying at `expiresAtMs`, or null for a browser-session cookie. */
export function cookieMaxAge(override: ExpiryOverride | undefined, expiresAtMs: number, nowMs: number): number | null {
  if (override?.kind === "browser") return null;
  return Math.max(0, (expiresAtMs - nowMs) / 1000);
}
