import type { AuthErrorCode } from "../../adapters/errors";

/** What a person can do next after an error. */
export type NextStep = "retry" | "send-again" | "use-code" | "wait" | "start-over" | "code-instead";

export interface ErrorView {
  code: AuthErrorCode;
  /** Seconds to wait, for rate limits. */
  retryAfter?: number;
  /** For `invalid_input` at the start: the address field was left empty. */
  empty?: true;
}

/** Words for every error code: the only place the UI turns codes into text. */
export function describeError(error: ErrorView): {
  title: string;
  message: string;
  next: NextStep;
} {
  switch (error.code) {
    case "invalid_input":
      if (error.empty)
        return {
          title: "Enter your email address",
          message: "The field was empty. Type the address to sign in with, like name@example.com.",
          next: "retry",
        };
      return {
        title: "Check what you typed",
        message: "Enter one email address, like name@example.com.",
        next: "retry",
      };
    case "invalid":
      return {
        title: "That didn't match",
        message:
          "The code or link is not right, or a newer email replaced it. Check the latest email, or send a new one.",
        next: "retry",
      };
    case "expired":
      return {
        title: "This sign-in has expired",
        message: "Links and codes work for a few minutes only. Send a new one.",
        next: "send-again",
      };
    case "used":
      return {
        title: "This link was already used",
        message: "Each link and code works once. Mail scanners sometimes open links before you do.",
        next: "send-again",
      };
    case "too_many_attempts":
      return {
        title: "Too many tries",
        message: "That code no longer works. Send a new one to try again.",
        next: "send-again",
      };
    case "rate_limited": {
      const seconds = Math.max(1, Math.ceil(error.retryAfter ?? 60));
      return {
        title: "Please wait a moment",
        message: `Too many requests. Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
        next: "wait",
      };
    }
    case "unavailable":
      return {
        title: "Sign-in is unavailable right now",
        message: "Something on our side did not answer. Please try again shortly.",
        next: "retry",
      };
    case "misconfigured":
      return {
        title: "Sign-in is not set up correctly",
        message: "This is our fault, not yours. Please try again later.",
        next: "retry",
      };
    case "second_factor_required":
      return {
        title: "One more step",
        message:
          "Your account asks for a code from your authenticator app. Start again to enter it.",
        next: "start-over",
      };
    case "not_same_browser":
      return {
        title: "Open this in the browser where you started",
        message:
          "A link signs you in only in the browser where you asked for it. Enter the email's code in that tab, or start again here.",
        next: "use-code",
      };
    case "sign_up_closed":
      return {
        title: "No account for this address",
        message:
          "You proved this address is yours, but it has no account here and new accounts are not open. If you have an account under another address, sign in with that one; otherwise ask whoever runs this site to invite you.",
        next: "start-over",
      };
    case "account_exists":
      return {
        title: "Sign in the way you did before",
        message:
          "This address already has an account that signs in another way, and this site does not join them automatically. Sign in with the method you used before.",
        next: "start-over",
      };
  }
}

/** What an adapter delivers, in the words of the sign-in pages. */
export function deliveryWords(delivers: { link: boolean; code: boolean }): {
  /** "a link and a code", "a link" or "a code". */
  what: string;
  /** The sign-in button. */
  button: string;
} {
  if (delivers.link && delivers.code) {
    return { what: "a link and a code", button: "Email me a link and a code" };
  }
  return delivers.link
    ? { what: "a link", button: "Email me a sign-in link" }
    : { what: "a code", button: "Email me a sign-in code" };
}
