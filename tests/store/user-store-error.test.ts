/** The user store's rule errors on their own: what callers branch on (app/auth/users.server.ts). */
import { describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../app/store/errors";
import { isUserStoreError, UserStoreError } from "../../app/store/users/types";

describe("UserStoreError", () => {
  it("names itself and carries its code as the message", () => {
    const error = new UserStoreError("email_taken");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("UserStoreError");
    expect(error.code).toBe("email_taken");
    expect(error.message).toBe("email_taken");
  });

  it("is recognised with any code, or with its own code only", () => {
    const taken = new UserStoreError("identity_taken");
    expect(isUserStoreError(taken)).toBe(true);
    expect(isUserStoreError(taken, "identity_taken")).toBe(true);
    // A caller that asks for one rule must not treat another as it (an address taken is
    // not an identity taken: the sign-in answers them differently).
    expect(isUserStoreError(taken, "email_taken")).toBe(false);
    expect(isUserStoreError(new UserStoreError("no_such_user"), "no_such_user")).toBe(true);
  });

  it("is recognised by its brand, so a copy from another bundle counts too", () => {
    const fromAnotherBundle = Object.assign(new Error("email_taken"), {
      [Symbol.for("passwordless-starter.UserStoreError")]: true,
      code: "email_taken",
    });
    expect(isUserStoreError(fromAnotherBundle, "email_taken")).toBe(true);
  });

  it("is not anything else, and never throws for a value that is not an object", () => {
    expect(isUserStoreError(new Error("email_taken"))).toBe(false);
    expect(isUserStoreError(new StoreUnavailableError("down"))).toBe(false);
    expect(isUserStoreError({ code: "email_taken" }, "email_taken")).toBe(false);
    for (const value of [null, undefined, "email_taken", 0]) {
      expect(isUserStoreError(value)).toBe(false);
      expect(isUserStoreError(value, "email_taken")).toBe(false);
    }
  });
});
