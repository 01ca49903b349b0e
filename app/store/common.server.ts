/**
 * A store's TTL argument, checked the same way by every backend: a positive, finite number
 * of ms. Rounded up to a whole ms, since Redis's PX and SQLite's expiry column take integers.
 */
export function checkedTtl(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`TTL must be a positive number of ms, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

/** The message of a failure for a wrapped error's text; anything else thrown, as a string. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A `spend`'s budgets, checked the same way by every backend before anything is counted. */
export function checkedBudgets<B extends { points: number; ttlMs: number }>(
  budgets: readonly B[],
): B[] {
  return budgets.map((budget) => {
    if (!Number.isSafeInteger(budget.points) || budget.points < 0) {
      throw new RangeError(`points must be a whole number ≥ 0, got ${budget.points}`);
    }
    return { ...budget, ttlMs: checkedTtl(budget.ttlMs) };
  });
}
