import { describe, expect, it } from "vitest";
import { AuthError, isAuthError, type AuthErrorCode } from "../../adapters/errors";
import { withFallback } from "../../adapters/fallback";
import type {
  AuthAdapter,
  Delivered,
  Proof,
  StartContext,
  VerifyContext,
} from "../../adapters/types";

const context: StartContext = {
  linkUrl: "http://app.test/auth/link",
  callbackUrl: "http://app.test/auth/callback",
  state: "state",
  nonceHash: "nonce",
};

interface Fake extends AuthAdapter {
  calls: string[];
  failStartWith?: AuthErrorCode;
}

/** A small adapter that records what it was asked and answers in its own name. */
function fake(name: string, delivers: Delivered, withSendCode = false): Fake {
  const adapter: Fake = {
    name,
    delivers,
    calls: [],
    async start(email) {
      adapter.calls.push(`start:${email}`);
      if (adapter.failStartWith)
        throw new AuthError(adapter.failStartWith, "down", { retryAfter: 7 });
      return { delivered: delivers, ref: `${name}-ref`, adapter: name };
    },
    async verify(proof: Proof) {
      adapter.calls.push(`verify:${proof.kind}`);
      return { id: `${name}-id`, email: "ada@example.com", adapter: name };
    },
  };
  if (withSendCode) {
    adapter.sendCode = async (email) => {
      adapter.calls.push(`sendCode:${email}`);
      if (adapter.failStartWith) throw new AuthError(adapter.failStartWith, "down");
      return { delivered: { link: false, code: true }, ref: `${name}-code-ref`, adapter: name };
    };
  }
  return adapter;
}

const linkOnly = { link: true, code: false };
const codeOnly = { link: false, code: true };

async function failure(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (error) {
    if (isAuthError(error)) return error;
    throw error;
  }
  throw new Error("expected a failure");
}

describe("withFallback: start", () => {
  it("uses the primary when it delivers, and never asks the fallback", async () => {
    const primary = fake("links", linkOnly);
    const secondary = fake("codes", codeOnly, true);
    const result = await withFallback(primary, secondary).start("ada@example.com", context);
    expect(result).toEqual({ delivered: linkOnly, ref: "links-ref", adapter: "links" });
    expect(secondary.calls).toEqual([]);
  });

  it("falls back when the primary is unavailable and reports who delivered", async () => {
    const primary = fake("links", linkOnly);
    primary.failStartWith = "unavailable";
    const secondary = fake("codes", codeOnly, true);
    const result = await withFallback(primary, secondary).start("ada@example.com", context);
    expect(result).toEqual({ delivered: codeOnly, ref: "codes-ref", adapter: "codes" });
    expect(primary.calls).toEqual(["start:ada@example.com"]);
    expect(secondary.calls).toEqual(["start:ada@example.com"]);
  });

  for (const code of ["rate_limited", "misconfigured", "invalid_input"] as const) {
    it(`passes ${code} on without asking the fallback`, async () => {
      const primary = fake("links", linkOnly);
      primary.failStartWith = code;
      const secondary = fake("codes", codeOnly, true);
      const error = await failure(
        withFallback(primary, secondary).start("ada@example.com", context),
      );
      expect(error.code).toBe(code);
      if (code === "rate_limited") expect(error.retryAfter).toBe(7);
      expect(secondary.calls).toEqual([]);
    });
  }

  it("reports the fallback's failure when both are down", async () => {
    const primary = fake("links", linkOnly);
    primary.failStartWith = "unavailable";
    const secondary = fake("codes", codeOnly);
    secondary.failStartWith = "rate_limited";
    const error = await failure(withFallback(primary, secondary).start("ada@example.com", context));
    expect(error.code).toBe("rate_limited");
  });

  it("is named and delivers what either member can", () => {
    const combined = withFallback(fake("links", linkOnly), fake("codes", codeOnly), {
      name: "both",
    });
    expect(combined.name).toBe("both");
    expect(combined.delivers).toEqual({ link: true, code: true });
    expect(withFallback(fake("a", linkOnly), fake("b", linkOnly)).name).toBe("a+b");
  });

  it("delivers only what a member can: two link adapters send no code, two code adapters no link", () => {
    expect(withFallback(fake("a", linkOnly), fake("b", linkOnly)).delivers).toEqual(linkOnly);
    expect(withFallback(fake("a", codeOnly), fake("b", codeOnly)).delivers).toEqual(codeOnly);
  });
});

describe("withFallback: verify routes the proof to the adapter that issued it", () => {
  const verify = async (proof: Proof, verifyContext: VerifyContext) => {
    const primary = fake("links", linkOnly);
    const secondary = fake("codes", codeOnly, true);
    const identity = await withFallback(primary, secondary).verify(proof, verifyContext);
    return { identity, primary: primary.calls, secondary: secondary.calls };
  };

  it("a callback proof goes to the link issuer named in the pending cookie", async () => {
    const { identity, secondary } = await verify(
      { kind: "callback", code: "c" },
      { adapter: "links" },
    );
    expect(identity.adapter).toBe("links");
    expect(secondary).toEqual([]);
  });

  it("a code proof goes to the code issuer named in the pending cookie", async () => {
    const { identity, primary } = await verify(
      { kind: "code", email: "ada@example.com", code: "123456" },
      { adapter: "codes" },
    );
    expect(identity.adapter).toBe("codes");
    expect(primary).toEqual([]);
  });

  it("a code sent after a failed link goes to the code issuer though the cookie names the link one", async () => {
    const { identity } = await verify(
      { kind: "code", email: "ada@example.com", code: "123456" },
      { adapter: "links" },
    );
    expect(identity.adapter).toBe("codes");
  });

  it("without a pending cookie the proof's kind decides", async () => {
    expect((await verify({ kind: "callback", code: "c" }, {})).identity.adapter).toBe("links");
    expect(
      (await verify({ kind: "code", email: "ada@example.com", code: "123456" }, {})).identity
        .adapter,
    ).toBe("codes");
  });

  it("when both issue the proof's kind, the named one gets it", async () => {
    const first = fake("first", { link: true, code: true });
    const second = fake("second", { link: true, code: true });
    const combined = withFallback(first, second);
    const proof: Proof = { kind: "code", email: "ada@example.com", code: "123456" };
    expect((await combined.verify(proof, { adapter: "second" })).adapter).toBe("second");
    expect((await combined.verify(proof, { adapter: "first" })).adapter).toBe("first");
    expect(first.calls).toEqual(["verify:code"]);
  });

  it("a proof nobody issues is invalid", async () => {
    const combined = withFallback(fake("a", codeOnly), fake("b", codeOnly));
    const error = await failure(combined.verify({ kind: "link", token: "t" }, { adapter: "a" }));
    expect(error.code).toBe("invalid");
    expect(error.message).toMatch(/issues this kind of proof/);
  });

  it("nested fallbacks route to the inner member the cookie names", async () => {
    const a = fake("a", { link: true, code: true });
    const b = fake("b", { link: true, code: true });
    const c = fake("c", { link: true, code: true });
    const combined = withFallback(withFallback(a, b), c);
    const identity = await combined.verify({ kind: "link", token: "t" }, { adapter: "b" });
    expect(identity.adapter).toBe("b");
    expect(a.calls).toEqual([]);
    expect(c.calls).toEqual([]);
  });

  it("a nested fallback in second place gets the proofs of its members, not the first adapter", async () => {
    const a = fake("a", { link: true, code: true });
    const b = fake("b", { link: true, code: true });
    const c = fake("c", { link: true, code: true });
    const combined = withFallback(c, withFallback(a, b));
    for (const name of ["a", "b"]) {
      const identity = await combined.verify({ kind: "link", token: "t" }, { adapter: name });
      expect(identity.adapter).toBe(name);
    }
    expect(c.calls).toEqual([]);
    // The combined adapter answers for its own name too.
    expect((await combined.verify({ kind: "link", token: "t" }, { adapter: "a+b" })).adapter).toBe(
      "a",
    );
    expect(c.calls).toEqual([]);
  });
});

describe("withFallback: sendCode (email me a code instead)", () => {
  it("is absent when neither member can send a code", () => {
    expect(withFallback(fake("a", linkOnly), fake("b", codeOnly)).sendCode).toBeUndefined();
  });

  it("delegates to the member that has it", async () => {
    const secondary = fake("codes", codeOnly, true);
    const result = await withFallback(fake("links", linkOnly), secondary).sendCode?.(
      "ada@example.com",
      context,
    );
    expect(result?.adapter).toBe("codes");
    expect(secondary.calls).toEqual(["sendCode:ada@example.com"]);
  });

  it("prefers the primary's and falls back only when it is unavailable", async () => {
    const primary = fake("p", codeOnly, true);
    const secondary = fake("s", codeOnly, true);
    const combined = withFallback(primary, secondary);
    expect((await combined.sendCode?.("ada@example.com", context))?.adapter).toBe("p");
    primary.failStartWith = "unavailable";
    expect((await combined.sendCode?.("ada@example.com", context))?.adapter).toBe("s");
    primary.failStartWith = "rate_limited";
    expect(
      (await failure(Promise.resolve(combined.sendCode?.("ada@example.com", context)))).code,
    ).toBe("rate_limited");
  });
});

/** `fake` with a second-factor step that answers in its own name. */
function withSecondFactor(adapter: Fake): Fake {
  adapter.verifySecondFactor = async (state, code) => {
    adapter.calls.push(`secondFactor:${state}:${code}`);
    return { id: `${adapter.name}-id`, email: "ada@example.com", adapter: adapter.name };
  };
  return adapter;
}

describe("withFallback: verifySecondFactor goes to the adapter whose verify asked for it", () => {
  it("is absent when neither member has a second factor", () => {
    expect(
      withFallback(fake("a", linkOnly), fake("b", codeOnly)).verifySecondFactor,
    ).toBeUndefined();
  });

  it("is present when only the fallback has one, and reaches it", async () => {
    const secondary = withSecondFactor(fake("codes", codeOnly));
    const combined = withFallback(fake("links", linkOnly), secondary);
    const identity = await combined.verifySecondFactor?.("step", "123456", { adapter: "codes" });
    expect(identity?.adapter).toBe("codes");
    expect(secondary.calls).toEqual(["secondFactor:step:123456"]);
  });

  it("when both have one, the member the pending cookie names gets it", async () => {
    const primary = withSecondFactor(fake("p", linkOnly));
    const secondary = withSecondFactor(fake("s", codeOnly));
    const combined = withFallback(primary, secondary);
    expect((await combined.verifySecondFactor?.("x", "111111", { adapter: "s" }))?.adapter).toBe(
      "s",
    );
    expect((await combined.verifySecondFactor?.("x", "111111", { adapter: "p" }))?.adapter).toBe(
      "p",
    );
    expect(primary.calls).toEqual(["secondFactor:x:111111"]);
    expect(secondary.calls).toEqual(["secondFactor:x:111111"]);
  });

  it("without a name, or naming a member without one, the first member that has one gets it", async () => {
    const primary = fake("p", linkOnly);
    const secondary = withSecondFactor(fake("s", codeOnly));
    const combined = withFallback(primary, secondary);
    expect((await combined.verifySecondFactor?.("x", "222222", {}))?.adapter).toBe("s");
    expect((await combined.verifySecondFactor?.("x", "222222", { adapter: "p" }))?.adapter).toBe(
      "s",
    );
    expect(primary.calls).toEqual([]);
  });

  it("a nested member named by the cookie gets it", async () => {
    const a = withSecondFactor(fake("a", linkOnly));
    const b = withSecondFactor(fake("b", codeOnly));
    const c = withSecondFactor(fake("c", codeOnly));
    const combined = withFallback(c, withFallback(a, b));
    expect((await combined.verifySecondFactor?.("x", "333333", { adapter: "b" }))?.adapter).toBe(
      "b",
    );
    expect(c.calls).toEqual([]);
  });
});

describe("withFallback: provider sign-out goes to the first member that has it", () => {
  it("is absent when neither member ends sessions", () => {
    const combined = withFallback(fake("a", linkOnly), fake("b", codeOnly));
    expect(combined.endSession).toBeUndefined();
    expect(combined.endAllSessions).toBeUndefined();
  });

  it("reaches the member that ends sessions, even when it is the fallback", async () => {
    const primary = fake("p", linkOnly);
    const secondary = fake("s", codeOnly);
    secondary.endSession = async (session) => {
      secondary.calls.push(`endSession:${session.id}:${session.userId}`);
    };
    secondary.endAllSessions = async (userId) => {
      secondary.calls.push(`endAllSessions:${userId}`);
    };
    const combined = withFallback(primary, secondary);
    await combined.endSession?.({ id: "sid", userId: "user" });
    await combined.endAllSessions?.("user");
    expect(secondary.calls).toEqual(["endSession:sid:user", "endAllSessions:user"]);
  });

  it("when both end sessions, the primary's is used", async () => {
    const primary = fake("p", linkOnly);
    const secondary = fake("s", codeOnly);
    for (const adapter of [primary, secondary]) {
      adapter.endSession = async () => void adapter.calls.push("endSession");
      adapter.endAllSessions = async () => void adapter.calls.push("endAllSessions");
    }
    const combined = withFallback(primary, secondary);
    await combined.endSession?.({ id: "sid", userId: "user" });
    await combined.endAllSessions?.("user");
    expect(primary.calls).toEqual(["endSession", "endAllSessions"]);
    expect(secondary.calls).toEqual([]);
  });
});
