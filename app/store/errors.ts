const BRAND = Symbol.for("passwordless-starter.StoreUnavailableError");

/**
 * The store could not answer: Redis unreachable, too slow (a command timed out), or it
 * replied with an error. Nothing can be assumed about whether the command took effect.
 *
 * Callers fail closed and answer 503 "try again shortly" — never a 500, never "allowed".
 */
export class StoreUnavailableError extends Error {
  readonly [BRAND] = true;

  constructor(message = "The store is unavailable", options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "StoreUnavailableError";
  }
}

/**
 * True for any StoreUnavailableError, even one created by another copy of this module (the
 * production bundle and the test runner each load their own), so never use `instanceof`.
 */
export function isStoreUnavailableError(error: unknown): error is StoreUnavailableError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true
  );
}
