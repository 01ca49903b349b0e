import type { SecondFactorStep } from "./types";

/**
 * The only errors an adapter may throw. Routes map `code` to words and to what the person
 * can do next; no provider exception or message crosses the adapter boundary.
 */
export type AuthErrorCode =
  /** The input was malformed (an address that is not one address, an empty code). */
  | "invalid_input"
  /** The proof does not match anything pending (wrong code, unknown or superseded link). */
  | "invalid"
  /** The proof was right but its lifetime has passed. */
  | "expired"
  /** The proof was already redeemed once. */
  | "used"
  /** Too many wrong tries: the pending code is dead, or the address is locked out. */
  | "too_many_attempts"
  /** The provider or our own limits say "not now"; `retryAfter` says for how long. */
  | "rate_limited"
  /** The provider (or the store) could not be reached or failed; nothing was consumed. */
  | "unavailable"
  /** The server is set up wrong (bad API key, missing setting). Never the person's fault. */
  | "misconfigured"
  /** The link was confirmed in a browser that did not start the sign-in (S8). */
  | "not_same_browser"
  /**
   * The proof was right, but this address has no account and new ones are not being made
   * (`SIGN_UP=closed`, or the first-sign-in hook refused). Said only after the inbox was proved.
   */
  | "sign_up_closed"
  /**
   * The proof was right, and the address belongs to an account that signs in another way,
   * which is not linked automatically (`LINK_BY_EMAIL=0`). Said only after the inbox was proved.
   */
  | "account_exists"
  /**
   * The first factor was right, and the provider asks for a second one (`secondFactor`
   * says which step). Not a failure: the strategy turns it into the second-factor page.
   */
  | "second_factor_required";

const BRAND = Symbol.for("passwordless-starter.AuthError");

export interface AuthErrorOptions {
  /** Seconds until a retry may succeed (for `rate_limited`). */
  retryAfter?: number;
  /** The provider's request id, kept for logs only. */
  requestId?: string;
  /** The original error, kept for logs only; never shown. */
  cause?: unknown;
  /** For `second_factor_required`: the step the provider asks for. */
  secondFactor?: SecondFactorStep;
}

export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly retryAfter?: number;
  readonly requestId?: string;
  readonly secondFactor?: SecondFactorStep;
  readonly [BRAND] = true;

  constructor(code: AuthErrorCode, message?: string, options: AuthErrorOptions = {}) {
    super(message ?? code, { cause: options.cause });
    this.name = "AuthError";
    this.code = code;
    this.retryAfter = options.retryAfter;
    this.requestId = options.requestId;
    this.secondFactor = options.secondFactor;
  }
}

/**
 * True for any AuthError, even one created by another copy of this module (the production
 * bundle and the test runner each load their own), so never use `instanceof` for this.
 */
export function isAuthError(error: unknown): error is AuthError {
  return (
    typeof error === "object" &&
    error !== null &&
    (error as Record<symbol, unknown>)[BRAND] === true
  );
}

export function isAuthErrorCode(error: unknown, code: AuthErrorCode): error is AuthError {
  return isAuthError(error) && error.code === code;
}
