import type { ErrorView } from "./messages";
import { describeError } from "./messages";
import { MAX_PASSKEYS_PER_USER } from "./passkey-rules";

/**
 * Why adding or using a passkey failed, as far as the person needs to know (the reasons of
 * app/auth/passkeys.server.ts that call for different words).
 */
export type PasskeyProblem =
  "no_challenge" | "limit" | "already_registered" | "not_discoverable" | "unknown_credential";

export interface PasskeyErrorView extends ErrorView {
  problem?: PasskeyProblem;
}

/** Words for a failed passkey sign-in or registration: for people, not engineers. */
export function describePasskeyError(error: PasskeyErrorView): { title: string; message: string } {
  switch (error.problem) {
    case "limit":
      return {
        title: "You have the most passkeys you can keep",
        message: `You can keep up to ${MAX_PASSKEYS_PER_USER} passkeys. Remove one you no longer use to add another.`,
      };
    case "already_registered":
      return {
        title: "This passkey is already saved",
        message:
          "Your device already has a passkey for this site. You can use it to sign in, or remove it below first.",
      };
    case "not_discoverable":
      return {
        title: "This device can't keep a passkey for you",
        message:
          "It can only be used together with a password, which this site doesn't have. Try your phone, computer or password manager instead.",
      };
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
