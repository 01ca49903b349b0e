import { randomBytes, randomInt } from "node:crypto";
import { AuthError, type AuthErrorCode } from "../../adapters/errors";
import type {
  AuthAdapter,
  Delivered,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "../../adapters/types";
import type { Clock } from "../../app/lib/clock";

/** One delivery the test adapter made: what a person would have found in their inbox. */
export interface TestDelivery {
  email: string;
  /** The link as it would be emailed (the app's landing page with the token). */
  link: string;
  token: string;
  code: string;
  ref: string;
  at: number;
}

export interface TestAdapter extends AuthAdapter {
  /** Every delivery, oldest first. */
  readonly deliveries: readonly TestDelivery[];
  /** The newest delivery to `email`; throws when there is none. */
  lastDeliveryTo(email: string): TestDelivery;
  /** Make the next `start` (or every one, with `times: Infinity`) fail with this error. */
  failStart(code: AuthErrorCode, options?: { times?: number; retryAfter?: number }): void;
  /** Make every call fail as `unavailable` (a provider that is down). */
  breakProvider(): void;
}

interface Pending extends TestDelivery {
  nonceHash: string;
  expiresAt: number;
  tries: number;
  used: boolean;
}

/**
 * An in-memory adapter for tests: it delivers a link and a code without any mail, records
 * every delivery, and keeps the contract (single use, expiry, newest wins, five tries,
 * same-browser links), so the app behaves exactly as with a real provider. It passes the
 * adapter conformance suite (tests/conformance/test-adapter.test.ts).
 */
export function createTestAdapter(
  options: { name?: string; clock?: Clock; ttlMs?: number; delivers?: Delivered } = {},
): TestAdapter {
  const name = options.name ?? "test";
  const clock = options.clock ?? Date.now;
  const ttlMs = options.ttlMs ?? 600_000;
  const delivers = options.delivers ?? { link: true, code: true };
  const deliveries: TestDelivery[] = [];
  const byEmail = new Map<string, Pending>();
  const byToken = new Map<string, Pending>();
  let failures: { code: AuthErrorCode; times: number; retryAfter?: number } | undefined;
  let broken = false;

  function identity(email: string): Identity {
    return { id: `test_${email}`, email, adapter: name };
  }

  function redeem(
    pending: Pending | undefined,
    context: VerifyContext,
    check: (p: Pending) => boolean,
  ): Identity {
    if (!pending) throw new AuthError("invalid", "Nothing pending");
    // A code guessed at five times is dead for good, and says so to every later try.
    if (pending.tries >= 5) throw new AuthError("too_many_attempts", "Too many wrong codes");
    if (pending.used) throw new AuthError("used", "Already used");
    if (byEmail.get(pending.email) !== pending)
      throw new AuthError("invalid", "Superseded by a newer request");
    if (clock() > pending.expiresAt) throw new AuthError("expired", "Expired");
    if (!check(pending)) {
      pending.tries += 1;
      throw new AuthError(pending.tries >= 5 ? "too_many_attempts" : "invalid", "Wrong");
    }
    if (context.nonceHash !== undefined && context.nonceHash !== pending.nonceHash) {
      throw new AuthError("not_same_browser", "Another browser");
    }
    // Synchronous check-and-set: of concurrent verifications exactly one gets here first.
    pending.used = true;
    return identity(pending.email);
  }

  async function start(email: string, context: StartContext): Promise<StartResult> {
    if (broken) throw new AuthError("unavailable", "Provider down");
    if (failures && failures.times > 0) {
      failures.times -= 1;
      throw new AuthError(failures.code, "Failing on purpose", { retryAfter: failures.retryAfter });
    }
    const token = randomBytes(32).toString("base64url");
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const ref = randomBytes(8).toString("hex");
    const delivery: TestDelivery = {
      email,
      token,
      code,
      ref,
      at: clock(),
      link: `${context.linkUrl}?token=${token}`,
    };
    const pending: Pending = {
      ...delivery,
      nonceHash: context.nonceHash,
      expiresAt: clock() + ttlMs,
      tries: 0,
      used: false,
    };
    deliveries.push(delivery);
    byEmail.set(email, pending);
    byToken.set(token, pending);
    return { delivered: delivers, ref, adapter: name };
  }

  return {
    name,
    delivers,
    start,
    async sendCode(email, context) {
      return { ...(await start(email, context)), delivered: { link: false, code: true } };
    },
    async verify(proof: Proof, context: VerifyContext) {
      if (broken) throw new AuthError("unavailable", "Provider down");
      switch (proof.kind) {
        case "link": {
          const pending = byToken.get(proof.token);
          if (
            pending &&
            context.nonceHash !== pending.nonceHash &&
            !pending.used &&
            byEmail.get(pending.email) === pending &&
            clock() <= pending.expiresAt
          ) {
            throw new AuthError("not_same_browser", "Another browser");
          }
          return redeem(pending, {}, () => true);
        }
        case "code":
          return redeem(byEmail.get(proof.email), {}, (p) => p.code === proof.code);
        default:
          throw new AuthError("invalid", "The test adapter issues no callback codes");
      }
    },
    deliveries,
    lastDeliveryTo(email) {
      const found = [...deliveries].reverse().find((d) => d.email === email);
      if (!found) throw new Error(`No delivery to ${email}`);
      return found;
    },
    failStart(code, { times = 1, retryAfter } = {}) {
      failures = { code, times, retryAfter };
    },
    breakProvider() {
      broken = true;
    },
  };
}
