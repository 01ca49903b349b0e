/** A clock that moves only when told: expiry without sleeping. */
export interface TestClock {
  (): number;
  /** Move forward by `ms`. */
  advance(ms: number): void;
  set(ms: number): void;
}

export function createTestClock(start = Date.UTC(2030, 0, 1, 9, 0, 0)): TestClock {
  let now = start;
  const clock = (() => now) as TestClock;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (ms) => {
    now = ms;
  };
  return clock;
}
