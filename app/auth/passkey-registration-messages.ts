import { describePasskeyError, type PasskeyErrorView } from "./passkey-messages";
import { MAX_PASSKEYS_PER_USER } from "./passkey-rules";

/**
 * Words for a failed passkey registration (adding, renaming, removing on /account/passkeys):
 * its own problems here, the rest as a sign-in's. Apart from ./passkey-messages so that the
 * sign-in page, which can meet none of these, does not ship their words.
 */
export function describePasskeyRegistrationError(error: PasskeyErrorView): {
  title: string;
  message: string;
} {
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
    default:
      return describePasskeyError(error);
  }
}
