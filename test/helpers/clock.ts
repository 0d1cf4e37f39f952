/** A clock the test moves by hand; every expiry in Tessera is decided by it. */
export interface TestClock {
  now: () => number;
  advance(seconds: number): void;
}

export function testClock(start = Date.UTC(2026, 0, 1, 12)): TestClock {
  let ms = start;
  return {
    now: () => ms,
    advance(seconds) {
      ms += seconds * 1000;
    },
  };
}
