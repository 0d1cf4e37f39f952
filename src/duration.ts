import { SessionConfigError, SessionValidationError } from "./errors.js";

/**
 * A span of time: a number of seconds, a string such as `"90s"`, `"30m"`, `"12h"`, `"14d"`,
 * or parts as Django's `timedelta` (`{ days: 1, hours: 2 }`).
 */
export type Duration =
  | number
  | `${number}${"s" | "m" | "h" | "d"}`
  | { days?: number; hours?: number; minutes?: number; seconds?: number };

const unitSeconds = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/**
 * The longest duration accepted: 1,000 years. With the instants `setExpiry(date)` accepts
 * (up to `LAST_INSTANT_MS`) this keeps every expiry, key ttl and cookie Expires inside what
 * every store holds, so none fails at save (B7).
 */
export const MAX_DURATION_SECONDS = 1000 * 365.25 * 86400;

/**
 * The last instant a session may expire at: 9999-12-31T23:59:59.999Z. Past year 9999 a Date's
 * ISO form gains a sign and six digits (`+010000-…`), which Postgres does not parse and cookie
 * dates do not allow.
 */
export const LAST_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Converts a `Duration` to seconds. Throws `SessionConfigError` (`option` names the setting
 * at fault) for a negative, non-finite or unparseable value.
 * @example toSeconds("14d") // 1209600
 */
export function toSeconds(value: Duration, option = "duration"): number {
  const seconds = parse(value);
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) {
    throw new SessionConfigError(`${option}: expected seconds, "30m"-style text or { days, hours, minutes, seconds }`);
  }
  if (seconds > MAX_DURATION_SECONDS) throw new SessionConfigError(`${option}: at most 1,000 years`);
  return seconds;
}

function parse(value: Duration): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string") {
    const match = /^(\d+(?:\.\d+)?)([smhd])$/.exec(value.trim());
    if (!match) return undefined;
    return Number(match[1]) * unitSeconds[match[2] as keyof typeof unitSeconds];
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { days = 0, hours = 0, minutes = 0, seconds = 0 } = value;
  const parts = [days, hours, minutes, seconds];
  if (parts.some((p) => typeof p !== "number" || p < 0)) return undefined;
  return days * 86400 + hours * 3600 + minutes * 60 + seconds;
}

/**
 * A duration passed to a method (not an option): bad input is a validation error of that key,
 * not a config error, raised at the call (B7) so that nothing is written with an instant past
 * `Date`'s range.
 */
export function durationArgument(key: string, value: Duration, nowMs: number): number {
  let seconds: number;
  try {
    seconds = toSeconds(value);
  } catch (error) {
    const tooBig = typeof value === "number" && value > MAX_DURATION_SECONDS;
    const message = tooBig ? "a duration is at most 1,000 years" : "expected a duration";
    throw new SessionValidationError(key, [{ code: tooBig ? "too_big" : "invalid_type", path: [], message }], {
      cause: error,
    });
  }
  if (nowMs + seconds * 1000 > LAST_INSTANT_MS) {
    throw new SessionValidationError(key, [{ code: "too_big", path: [], message: "duration reaches past year 9999" }]);
  }
  return seconds;
}
