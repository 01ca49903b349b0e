/**
 * The adapter contract: what a team implements to add a sign-in provider.
 *
 * An adapter does two things: it *starts* a sign-in for an email address (delivers a link,
 * a code, or both), and it *verifies* a proof (the token from a link, a provider's callback
 * code, or an email + code) into an {@link Identity}. Everything else (the pending-login
 * cookie, sessions, rate limits on sending, origin checks) is the strategy's job.
 *
 * Obligations every adapter must meet (the conformance suite in tests/conformance checks
 * them):
 * - It throws only {@link AuthError}s from `./errors`; a provider's exception, message or
 *   status never escapes.
 * - A proof is single use: the second successful-looking `verify` of the same proof throws
 *   `used` or `invalid`, including when both run at the same time.
 * - A proof expires: after its lifetime `verify` throws `expired` (or `invalid`).
 * - A wrong code or a code for another address throws `invalid`; enough wrong tries throw
 *   `too_many_attempts`.
 * - `start` returns a reference the strategy keeps in the pending-login cookie; it is not
 *   a secret and grants nothing on its own.
 */
import type { AuthError } from "./errors";

export type { AuthError };

/** Who signed in. `id` is stable for the same person across sign-ins with this adapter. */
export interface Identity {
  id: string;
  email: string;
  firstName?: string;
  lastName?: string;
  /** The adapter that verified the proof (for the fallback: the one that issued it). */
  adapter: string;
  /**
   * The namespace in which `id` is unique, when several adapters share one (WorkOS Magic
   * Link and Magic Auth both answer with WorkOS user ids: `"workos"`). Defaults to `adapter`.
   * The users table links `(provider, id)` to one user.
   */
  provider?: string;
  /**
   * False when the provider vouches for the person but not for the address. Every proof the
   * starter accepts proves the inbox (an emailed link or code, WorkOS's verified profile), so
   * adapters leave this out; an identity with `false` is never linked to a user by address.
   */
  emailVerified?: boolean;
}

/** What reached the person's inbox. */
export interface Delivered {
  link: boolean;
  code: boolean;
}

export interface RequestInfo {
  /** The client IP, as the app decided to trust it (`TRUST_PROXY`). */
  ip?: string;
  userAgent?: string;
}

export interface StartContext extends RequestInfo {
  /**
   * The app's link landing page (`APP_ORIGIN` + "/auth/link"). An adapter that mails its
   * own link appends its token as `?token=`. Always built from the configured origin,
   * never from the request's Host header (S15).
   */
  linkUrl: string;
  /** The redirect URI for providers that send the browser back (`APP_ORIGIN` + "/auth/callback"). */
  callbackUrl: string;
  /**
   * An opaque, signed reference to this pending sign-in, for providers that round-trip a
   * `state` parameter. It never holds the return path in clear (S16).
   */
  state: string;
  /**
   * SHA-256 (hex) of the pending-login cookie's nonce. Adapters that keep their own record
   * store it beside the secret so that only the starting browser can redeem the link (S8).
   */
  nonceHash: string;
}

export interface StartResult {
  delivered: Delivered;
  /** Kept in the pending-login cookie and handed back to `verify`; not a secret. */
  ref: string;
  /** The adapter that actually delivered (differs from the called one under a fallback). */
  adapter: string;
}

export type Proof =
  /** The token from the app's own link landing page. */
  | { kind: "link"; token: string }
  /** A code the person typed, for the email held in the pending-login cookie. */
  | { kind: "code"; email: string; code: string }
  /** A provider's one-time authorization code from `/auth/callback`. */
  | { kind: "callback"; code: string };

export interface VerifyContext extends RequestInfo {
  /** `StartResult.ref` from the pending-login cookie, when the browser has one. */
  ref?: string;
  /** `StartResult.adapter` from the pending-login cookie, when the browser has one. */
  adapter?: string;
  /** SHA-256 (hex) of the pending-login cookie's nonce, when the browser has one (S8). */
  nonceHash?: string;
}

export interface AuthAdapter {
  /** The registry name, e.g. "local" or "workos-magic-auth". */
  readonly name: string;
  /** What `start` delivers when it succeeds. */
  readonly delivers: Delivered;

  /**
   * Deliver a link, a code, or both to `email` (already normalised and validated).
   * A new start for the same address supersedes the older one where the provider allows
   * (S4). Throws `rate_limited`, `unavailable` or `misconfigured`.
   */
  start(email: string, context: StartContext): Promise<StartResult>;

  /**
   * Turn a proof into an identity, consuming it. Throws `invalid`, `expired`, `used`,
   * `too_many_attempts`, `not_same_browser`, `rate_limited`, `unavailable` or
   * `misconfigured`. A failed verify consumes nothing that the right proof still needs,
   * except that wrong codes count towards `too_many_attempts`.
   */
  verify(proof: Proof, context: VerifyContext): Promise<Identity>;

  /**
   * Optional capability: deliver a code for an address whose link failed (the "email me a
   * code instead" button after a scanner ate the link). Present only when the adapter can.
   */
  sendCode?(email: string, context: StartContext): Promise<StartResult>;
}
