/**
 * withRedirect alone (adapters/redirect.ts), with small adapters that record what they are
 * asked: which member answers each call, and which capabilities the combination has.
 */
import { describe, expect, it } from "vitest";
import { AuthError, isAuthError } from "../../adapters/errors";
import { withRedirect } from "../../adapters/redirect";
import type { AuthAdapter, ProviderSession, StartContext } from "../../adapters/types";

const context: StartContext = {
  linkUrl: "http://app.test/auth/link",
  callbackUrl: "http://app.test/auth/callback",
  state: "state",
  nonceHash: "nonce",
};

type Recorder = AuthAdapter & { calls: string[] };

/** An adapter named `name` with the capabilities asked for; every call is recorded. */
function recorder(
  name: string,
  capabilities: {
    sendCode?: boolean;
    redirectFor?: boolean;
    secondFactor?: boolean;
    endSession?: boolean;
    endAllSessions?: boolean;
  } = {},
): Recorder {
  const adapter: Recorder = {
    name,
    delivers: { link: true, code: name === "email" },
    calls: [],
    async start(email) {
      adapter.calls.push(`start:${email}`);
      return { delivered: { link: true, code: false }, ref: `${name}-ref`, adapter: name };
    },
    async verify(proof) {
      adapter.calls.push(`verify:${proof.kind}`);
      return { id: `${name}-id`, email: "ada@example.com", adapter: name };
    },
  };
  // Each capability checks `this`: a method called without its adapter fails.
  if (capabilities.sendCode) {
    adapter.sendCode = async function (this: Recorder, email) {
      this.calls.push(`sendCode:${email}`);
      return { delivered: { link: false, code: true }, ref: "code-ref", adapter: this.name };
    };
  }
  if (capabilities.redirectFor) {
    adapter.redirectFor = async function (this: Recorder, email) {
      this.calls.push(`redirectFor:${email}`);
      return { url: "https://idp.test/", ref: "org", adapter: this.name, match: "domain" };
    };
  }
  if (capabilities.secondFactor) {
    adapter.verifySecondFactor = async function (this: Recorder, state, code) {
      this.calls.push(`verifySecondFactor:${state}:${code}`);
      return { id: `${this.name}-id`, email: "ada@example.com", adapter: this.name };
    };
  }
  if (capabilities.endSession) {
    adapter.endSession = async function (this: Recorder, session: ProviderSession) {
      this.calls.push(`endSession:${session.id}`);
    };
  }
  if (capabilities.endAllSessions) {
    adapter.endAllSessions = async function (this: Recorder, userId: string) {
      this.calls.push(`endAllSessions:${userId}`);
    };
  }
  return adapter;
}

describe("withRedirect", () => {
  it("is the email adapter by name and delivery; starts with it", async () => {
    const email = recorder("email");
    const sso = recorder("sso", { redirectFor: true });
    const combined = withRedirect(email, sso);
    expect(combined.name).toBe("email");
    expect(combined.delivers).toBe(email.delivers);
    expect((await combined.start("ada@example.com", context)).adapter).toBe("email");
    expect(email.calls).toEqual(["start:ada@example.com"]);
    expect(sso.calls).toEqual([]);
  });

  it("asks the redirecting adapter where to send an address", async () => {
    const email = recorder("email", { redirectFor: true });
    const sso = recorder("sso", { redirectFor: true });
    const start = await withRedirect(email, sso).redirectFor?.("ada@acme.test", context);
    expect(start?.adapter).toBe("sso");
    expect(email.calls).toEqual([]);
    expect(withRedirect(email, recorder("sso")).redirectFor).toBeUndefined();
  });

  it("sends codes through the email adapter, when it can", async () => {
    const email = recorder("email", { sendCode: true });
    const combined = withRedirect(email, recorder("sso", { sendCode: true }));
    expect((await combined.sendCode?.("ada@example.com", context))?.adapter).toBe("email");
    expect(email.calls).toEqual(["sendCode:ada@example.com"]);
    expect(withRedirect(recorder("email"), recorder("sso", { sendCode: true })).sendCode).toBe(
      undefined,
    );
  });

  it("verifies with the adapter the pending sign-in names, else the email adapter", async () => {
    const email = recorder("email");
    const sso = recorder("sso");
    const combined = withRedirect(email, sso);
    expect(
      (await combined.verify({ kind: "callback", code: "c" }, { adapter: "sso" })).adapter,
    ).toBe("sso");
    expect(
      (await combined.verify({ kind: "callback", code: "c" }, { adapter: "email" })).adapter,
    ).toBe("email");
    expect((await combined.verify({ kind: "link", token: "t" }, {})).adapter).toBe("email");
    expect(
      (await combined.verify({ kind: "link", token: "t" }, { adapter: "other" })).adapter,
    ).toBe("email");
  });

  it("finishes a second factor with the adapter that asked for it", async () => {
    const email = recorder("email", { secondFactor: true });
    const sso = recorder("sso", { secondFactor: true });
    const combined = withRedirect(email, sso);
    expect((await combined.verifySecondFactor?.("s", "123456", { adapter: "sso" }))?.adapter).toBe(
      "sso",
    );
    expect((await combined.verifySecondFactor?.("s", "654321", {}))?.adapter).toBe("email");
    expect(sso.calls).toEqual(["verifySecondFactor:s:123456"]);
    expect(email.calls).toEqual(["verifySecondFactor:s:654321"]);
  });

  it("has a second factor when either member has one; the other's pending step is expired", async () => {
    const onlySso = withRedirect(recorder("email"), recorder("sso", { secondFactor: true }));
    let refused: unknown;
    try {
      await onlySso.verifySecondFactor?.("s", "123456", { adapter: "email" });
    } catch (error) {
      refused = error;
    }
    expect(isAuthError(refused) && [refused.code, refused.message]).toEqual([
      "expired",
      "No second factor is pending",
    ]);
    expect(refused).toBeInstanceOf(AuthError);
    const onlyEmail = withRedirect(recorder("email", { secondFactor: true }), recorder("sso"));
    expect((await onlyEmail.verifySecondFactor?.("s", "1", {}))?.adapter).toBe("email");
    expect(withRedirect(recorder("email"), recorder("sso")).verifySecondFactor).toBeUndefined();
  });

  it("ends provider sessions with the first member that can, each capability on its own", async () => {
    const email = recorder("email", { endAllSessions: true });
    const sso = recorder("sso", { endSession: true, endAllSessions: true });
    const combined = withRedirect(email, sso);
    await combined.endSession?.({ id: "session_1", userId: "user_1" });
    await combined.endAllSessions?.("user_1");
    expect(sso.calls).toEqual(["endSession:session_1"]);
    expect(email.calls).toEqual(["endAllSessions:user_1"]);
    const neither = withRedirect(recorder("email"), recorder("sso"));
    expect(neither.endSession).toBeUndefined();
    expect(neither.endAllSessions).toBeUndefined();
  });
});
