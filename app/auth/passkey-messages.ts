import type { ErrorView } from "./messages";
import { describeError } from "./messages";

/**
 * Why adding or using a passkey failed, as far as the person needs to know (the reasons of
 * app/auth/passkeys.server.ts that call for different words).
 */
export type PasskeyProblem =
  "no_challenge" | "limit" | "already_registered" | "not_discoverable" | "unknown_credential";

export interface PasskeyErrorView extends ErrorView {
  problem?: PasskeyProblem;
}

/**
 * Words for a failed passkey sign-in, and for what a registration shares with it (an
 * expired challenge, a refusal): for people, not engineers. Registration's own problems
 * have theirs in ./passkey-registration-messages.
 */
export function describePasskeyError(error: PasskeyErrorView): { title: string; message: string } {
  switch (error.problem) {
    case "no_challenge":
      return {
        title: "That took too long",
        message:
          "For your safety, each passkey request works once and for five minutes. Try again.",
      };
    case "unknown_credential":
      return {
        title: "This passkey doesn't work here any more",
        message:
          "It may have been removed from your account. Sign in with your email instead, then add a new passkey.",
      };
    default:
      break;
  }
  switch (error.code) {
    case "invalid_input":
    case "invalid":
      return {
        title: "That passkey didn't work",
        message:
          "We couldn't check it. Try again, or sign in with your email instead. Removed passkeys no longer sign anyone in.",
      };
    case "expired":
    case "used":
      return describePasskeyError({ ...error, problem: "no_challenge" });
    case "too_many_attempts":
      return {
        title: "Too many tries",
        message: "Signing in to this account is paused for a while. Please try again later.",
      };
    default: {
      const words = describeError(error);
      return { title: words.title, message: words.message };
    }
  }
}
