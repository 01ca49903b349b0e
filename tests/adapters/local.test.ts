/**
 * The local adapter alone (the conformance suite covers its contract): the checks that only
 * show under concurrency or at their exact bounds.
 */
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { isAuthError } from "../../adapters/errors";
import { createLocalAdapter, type LocalAdapterOptions } from "../../adapters/local";
import type { AuthAdapter, Identity } from "../../adapters/types";
import { sha256Hex } from "../../app/lib/crypto.server";
import { Outbox } from "../../app/mail/outbox.server";
import { MemoryStore } from "../../app/store/memory.server";
import type { Store } from "../../app/store/types";
import { readEmail } from "../support/mail";

const NONCE = sha256Hex("the asking browser's nonce");
const EMAIL = "guess@example.com";

let store: MemoryStore;
afterEach(() => store?.close());

function setup(options: Partial<LocalAdapterOptions> & { wrap?: (s: Store) => Store } = {}) {
  let now = Date.UTC(2030, 0, 1);
  const clock = () => now;
  store = new MemoryStore({ clock, sweepIntervalMs: 0 });
  const outbox = new Outbox();
  const adapter = createLocalAdapter({
    store: options.wrap ? options.wrap(store) : store,
    mailer: outbox,
    hashKey: randomBytes(32),
    clock,
    ...options,
  });
  return {
    adapter,
    outbox,
    advance: (ms: number) => {
      now += ms;
    },
    async start(email = EMAIL) {
      const result = await adapter.start(email, {
        linkUrl: "http://localhost/auth/link",
        callbackUrl: "http://localhost/auth/callback",
        state: "s",
        nonceHash: NONCE,
      });
      const message = readEmail(outbox.latestTo(email)!);
      return { result, code: message.code!, token: message.token! };
    },
  };
}

const codeProof = (code: string, email = EMAIL) => ({ kind: "code" as const, email, code });
const wrong = (code: string, n = 0) => String((Number(code) + 1 + n) % 1_000_000).padStart(6, "0");

/** What a verify came to: the identity's email, or the AuthError code. */
async function outcome(adapter: AuthAdapter, ...args: Parameters<AuthAdapter["verify"]>) {
  return adapter.verify(...args).then(
    (identity: Identity) => `signed in as ${identity.email}`,
    (error: unknown) => (isAuthError(error) ? error.code : `thrown: ${String(error)}`),
  );
}

/**
 * A store whose replies to `increment` come back in the reverse order of the calls, as
 * replies from several app instances (or a slow network) may: the attempt counted sixth
 * can be the first to compare its code.
 */
function repliesOutOfOrder(inner: Store): Store {
  let calls = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== "increment") {
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (key: string, ttlMs: number) => {
        const count = await target.increment(key, ttlMs);
        const delay = Math.max(0, 60 - 10 * calls++);
        await new Promise((resolve) => setTimeout(resolve, delay));
        return count;
      };
    },
  });
}

describe("S10 parallel wrong-code guesses are capped at five", () => {
  it("the right code counted sixth is refused, even when it is the first to be compared", async () => {
    const local = setup({ wrap: repliesOutOfOrder });
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    const guesses = [0, 1, 2, 3, 4].map((n) =>
      outcome(local.adapter, codeProof(wrong(code, n)), context),
    );
    // Sent last, so counted sixth; its count comes back first.
    const right = outcome(local.adapter, codeProof(code), context);
    const results = await Promise.all([...guesses, right]);
    expect(results[5]).toBe("too_many_attempts");
    expect(results.filter((r) => r.startsWith("signed in"))).toEqual([]);
    // And the sign-in stays dead.
    expect(await outcome(local.adapter, codeProof(code), context)).toBe("too_many_attempts");
  });

  it("of 20 parallel guesses none gets past the five, and the right code is refused afterwards", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        outcome(local.adapter, codeProof(wrong(code, n)), context),
      ),
    );
    expect(results.filter((r) => r === "invalid")).toHaveLength(4);
    expect(results.filter((r) => r === "too_many_attempts")).toHaveLength(16);
    expect(await outcome(local.adapter, codeProof(code), context)).toBe("too_many_attempts");
  });

  it("the fifth wrong code ends the sign-in; the fourth does not", async () => {
    const local = setup();
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    for (let n = 0; n < 4; n++) {
      expect(await outcome(local.adapter, codeProof(wrong(code, n)), context)).toBe("invalid");
    }
    expect(await outcome(local.adapter, codeProof(code), context)).toBe(`signed in as ${EMAIL}`);
    const again = await local.start();
    context.ref = again.result.ref;
    for (let n = 0; n < 4; n++)
      await outcome(local.adapter, codeProof(wrong(again.code, n)), context);
    expect(await outcome(local.adapter, codeProof(wrong(again.code, 9)), context)).toBe(
      "too_many_attempts",
    );
    // The link of that sign-in died with it.
    expect(await outcome(local.adapter, { kind: "link", token: again.token }, context)).toBe(
      "too_many_attempts",
    );
  });

  it("maxAttempts is configurable", async () => {
    const local = setup({ maxAttempts: 2 });
    const { code, result } = await local.start();
    const context = { nonceHash: NONCE, ref: result.ref };
    expect(await outcome(local.adapter, codeProof(wrong(code)), context)).toBe("invalid");
    expect(await outcome(local.adapter, codeProof(wrong(code, 1)), context)).toBe(
      "too_many_attempts",
    );
  });
});
