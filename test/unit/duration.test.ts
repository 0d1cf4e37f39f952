import { describe, expect, it } from "vitest";
import { toSeconds } from "../../src/duration.js";
import { SessionConfigError } from "../../src/index.js";

describe("durations", () => {
  it("accepts seconds, unit strings and Django-style parts", () => {
    expect(toSeconds(90)).toBe(90);
    expect(toSeconds("90s")).toBe(90);
    expect(toSeconds("30m")).toBe(1800);
    expect(toSeconds("12h")).toBe(43200);
    expect(toSeconds("14d")).toBe(1209600);
    expect(toSeconds({ days: 1, hours: 2, minutes: 3, seconds: 4 })).toBe(93784);
    expect(toSeconds({})).toBe(0);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY, "14", "1w", "-5m", "", "5 m x", { days: -1 }])(
    "rejects %s with SessionConfigError",
    (value) => {
      expect(() => toSeconds(value as never, "maxAge")).toThrow(SessionConfigError);
    },
  );
});
