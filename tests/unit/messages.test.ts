/**
 * app/auth/messages.ts, passkey-messages.ts and passkey-registration-messages.ts: the words
 * a person reads for each error. Every code and problem has words of its own (a title and at
 * least one whole sentence), the step the page offers next, the seconds to wait, and the
 * cases that share words on purpose.
 */
import { describe, expect, it } from "vitest";
import type { AuthErrorCode } from "../../adapters/errors";
import { deliveryWords, describeError, type NextStep } from "../../app/auth/messages";
import { describePasskeyError, type PasskeyProblem } from "../../app/auth/passkey-messages";
import { describePasskeyRegistrationError } from "../../app/auth/passkey-registration-messages";
import { MAX_PASSKEYS_PER_USER } from "../../app/auth/passkey-rules";

const NEXT: Record<AuthErrorCode, NextStep> = {
  invalid_input: "retry",
  invalid: "retry",
  expired: "send-again",
  used: "send-again",
  too_many_attempts: "send-again",
  rate_limited: "wait",
  unavailable: "retry",
  misconfigured: "retry",
  second_factor_required: "start-over",
  not_same_browser: "use-code",
  sign_up_closed: "start-over",
  account_exists: "start-over",
};
const CODES = Object.keys(NEXT) as AuthErrorCode[];

/** A title is a short phrase; a message is whole sentences. */
function expectWords(words: { title: string; message: string }) {
  expect(words.title).toMatch(/^[A-Z].*[^.\s]$/);
  expect(words.message).toMatch(/^[A-Z].*[.!?]$/);
}

describe("an error's words", () => {
  it("every code has a title and a message of its own, and its next step", () => {
    const titles = new Set<string>();
    const messages = new Set<string>();
    for (const code of CODES) {
      const words = describeError({ code });
      expectWords(words);
      expect(words.next, code).toBe(NEXT[code]);
      titles.add(words.title);
      messages.add(words.message);
    }
    expect(titles.size).toBe(CODES.length);
    expect(messages.size).toBe(CODES.length);
  });

  it("an empty address asks for one, with other words than a malformed one", () => {
    const empty = describeError({ code: "invalid_input", empty: true });
    const malformed = describeError({ code: "invalid_input" });
    expectWords(empty);
    expect(empty.next).toBe("retry");
    expect(empty.title).toBe("Enter your email address");
    expect(malformed.title).toBe("Check what you typed");
    expect(empty.message).not.toBe(malformed.message);
  });

  it("a rate limit says how many whole seconds to wait: rounded up, at least one, a minute if unknown", () => {
    const wait = (retryAfter?: number) =>
      describeError({ code: "rate_limited", retryAfter }).message;
    expect(wait(30)).toBe("Too many requests. Try again in 30 seconds.");
    expect(wait(1)).toBe("Too many requests. Try again in 1 second.");
    expect(wait(1.2)).toBe("Too many requests. Try again in 2 seconds.");
    expect(wait(0)).toBe("Too many requests. Try again in 1 second.");
    expect(wait(-5)).toBe("Too many requests. Try again in 1 second.");
    expect(wait(undefined)).toBe("Too many requests. Try again in 60 seconds.");
  });
});

describe("what a sign-in sends, in the pages' words", () => {
  it("names a link, a code or both, on the button too", () => {
    expect(deliveryWords({ link: true, code: true })).toEqual({
      what: "a link and a code",
      button: "Email me a link and a code",
    });
    expect(deliveryWords({ link: true, code: false })).toEqual({
      what: "a link",
      button: "Email me a sign-in link",
    });
    expect(deliveryWords({ link: false, code: true })).toEqual({
      what: "a code",
      button: "Email me a sign-in code",
    });
  });
});

describe("a passkey's words", () => {
  const signIn = (code: AuthErrorCode, problem?: PasskeyProblem) =>
    describePasskeyError({ code, problem });

  it("a sign-in's own cases have words of their own", () => {
    const own = [
      signIn("expired", "no_challenge"),
      signIn("invalid", "unknown_credential"),
      signIn("invalid"),
      signIn("too_many_attempts"),
    ];
    for (const words of own) expectWords(words);
    expect(new Set(own.map((words) => words.title)).size).toBe(own.length);
    expect(new Set(own.map((words) => words.message)).size).toBe(own.length);
    // None of them says what the email sign-in's words say.
    for (const words of own) {
      expect(CODES.map((code) => describeError({ code }).message)).not.toContain(words.message);
    }
  });

  it("an expired or used challenge reads as no challenge: each request works once, for five minutes", () => {
    for (const code of ["expired", "used"] as const) {
      expect(signIn(code)).toEqual(signIn("invalid", "no_challenge"));
    }
    expect(signIn("expired", "no_challenge").message).toMatch(/works once and for five minutes/);
  });

  it("a malformed passkey reads as one that did not work", () => {
    expect(signIn("invalid_input")).toEqual(signIn("invalid"));
  });

  it("anything else reads as the email sign-in's words, without a next step", () => {
    for (const code of [
      "rate_limited",
      "unavailable",
      "misconfigured",
      "not_same_browser",
    ] as const) {
      const { title, message } = describeError({ code, retryAfter: 7 });
      expect(describePasskeyError({ code, retryAfter: 7 })).toStrictEqual({ title, message });
    }
  });

  it("a registration's own problems have words of their own, with the limit in them", () => {
    const own = (["limit", "already_registered", "not_discoverable"] as const).map((problem) =>
      describePasskeyRegistrationError({ code: "invalid", problem }),
    );
    for (const words of own) expectWords(words);
    expect(new Set(own.map((words) => words.title)).size).toBe(3);
    expect(new Set(own.map((words) => words.message)).size).toBe(3);
    expect(own[0]?.message).toContain(`You can keep up to ${MAX_PASSKEYS_PER_USER} passkeys.`);
    // Not a sign-in's words.
    for (const words of own) expect(words.title).not.toBe(signIn("invalid").title);
  });
});
