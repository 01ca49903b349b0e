import { describe, expect, it } from "vitest";
import { describePasskeyError } from "../../app/auth/passkey-messages";
import { describePasskeyRegistrationError } from "../../app/auth/passkey-registration-messages";
import { MAX_PASSKEYS_PER_USER } from "../../app/auth/passkey-rules";

describe("passkey words", () => {
  it("a sign-in's: an expired or used challenge reads as one that took too long; an unknown passkey says so", () => {
    expect(describePasskeyError({ code: "expired" }).title).toBe("That took too long");
    expect(describePasskeyError({ code: "used" }).title).toBe("That took too long");
    expect(describePasskeyError({ code: "invalid", problem: "unknown_credential" }).title).toBe(
      "This passkey doesn't work here any more",
    );
    expect(describePasskeyError({ code: "invalid" }).title).toBe("That passkey didn't work");
    // Anything else reads as the email sign-in's words for the same code.
    expect(describePasskeyError({ code: "unavailable" }).title).toBe(
      "Sign-in is unavailable right now",
    );
  });

  it("a registration's own problems have their own words, with the limit in them", () => {
    const limit = describePasskeyRegistrationError({ code: "invalid", problem: "limit" });
    expect(limit.title).toBe("You have the most passkeys you can keep");
    expect(limit.message).toContain(`up to ${MAX_PASSKEYS_PER_USER} passkeys`);
    expect(
      describePasskeyRegistrationError({ code: "invalid", problem: "already_registered" }).title,
    ).toBe("This passkey is already saved");
    expect(
      describePasskeyRegistrationError({ code: "invalid", problem: "not_discoverable" }).title,
    ).toBe("This device can't keep a passkey for you");
  });

  it("a registration's other failures read as a sign-in's", () => {
    for (const error of [
      { code: "expired" as const, problem: "no_challenge" as const },
      { code: "invalid" as const },
      { code: "too_many_attempts" as const },
    ]) {
      expect(describePasskeyRegistrationError(error)).toEqual(describePasskeyError(error));
    }
  });
});
