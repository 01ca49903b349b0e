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
import type { MailTag } from "../app/mail/types";
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
  /**
   * The session the provider opened for this sign-in, when it opens one (WorkOS User
   * Management does). Signing out ends it too, through {@link AuthAdapter.endSession}.
   */
  providerSession?: ProviderSession;
}

/** A provider's own session for one sign-in: ids only, never a token. */
export interface ProviderSession {
  /** The provider's session id (WorkOS: the `sid` claim of the access token). */
  id: string;
  /** The provider's user id, for ending every session of that user ("sign out everywhere"). */
  userId: string;
}

/**
 * What `verify` hands back (inside an AuthError with code `second_factor_required`) when
 * the provider wants a second factor before it signs the person in.
 */
export interface SecondFactorStep {
  /** "enroll": set up an authenticator app first; "challenge": type its current code. */
  kind: "enroll" | "challenge";
  /**
   * Adapter-owned state for {@link AuthAdapter.verifySecondFactor} (e.g. WorkOS's pending
   * authentication token). It grants a sign-in with the right code, so the app keeps it
   * only sealed in the browser's short-lived second-factor cookie, never in a page or log.
   */
  state: string;
  /** For "enroll": what the person needs to add the factor to their app, shown once. */
  enrollment?: {
    /** An image data URL (the QR code of the otpauth URI). */
    qrCode: string;
    /** The base32 secret, for people who cannot scan. */
    secret: string;
  };
}

/** Where to send the browser instead of emailing (enterprise SSO for the address's domain). */
export interface RedirectStart {
  /** The provider's authorization URL. */
  url: string;
  /** Kept in the pending-login cookie and handed back to `verify`; not a secret. */
  ref: string;
  /** The adapter that `verify` must route the callback to. */
  adapter: string;
  /**
   * "domain": the identity that comes back must be at the typed address's domain, not the
   * same address (an identity provider may answer with the person's primary address).
   */
  match: "domain";
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
   * Names the email this start sends. An adapter that mails through the app's mailer puts
   * it on the message as `tag`, untouched: the check-email page follows its delivery, and a
   * delivery that fails gives the request's budgets back. Absent outside the strategy.
   */
  mail?: MailTag;
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
  /**
   * The address the browser's pending sign-in is for, from the same cookie. Lets an adapter
   * tell "this browser's sign-in is gone" (expired, replaced, lost) from a wrong proof.
   */
  email?: string;
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

  /**
   * Optional capability: send the browser to the provider instead of emailing, for
   * addresses it knows sign in elsewhere (enterprise SSO by domain). Null means "email as
   * usual". Must not fail the sign-in when the lookup cannot be made: answer null instead.
   */
  redirectFor?(email: string, context: StartContext): Promise<RedirectStart | null>;

  /**
   * Optional capability: finish a sign-in whose `verify` threw `second_factor_required`,
   * with the step's `state` and the code from the person's authenticator app. Throws
   * `invalid` for a wrong code, `expired` when the step is no longer pending, and the
   * errors of `verify`.
   */
  verifySecondFactor?(state: string, code: string, context: VerifyContext): Promise<Identity>;

  /**
   * Optional capability: end the provider's session opened at sign-in (sign-out). An
   * already-ended or unknown session is not an error. Throws `unavailable`,
   * `rate_limited` or `misconfigured`; the app then retries later.
   */
  endSession?(session: ProviderSession): Promise<void>;

  /** Optional capability: end every provider session of a provider user ("sign out everywhere"). */
  endAllSessions?(providerUserId: string): Promise<void>;
}
