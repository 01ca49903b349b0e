/**
 * A small adapter over a simulated provider that keeps the whole contract, and the same
 * adapter with one deliberate flaw at a time. The flawless one passes the conformance
 * suite; each flawed one must fail the check that names its flaw (broken.test.ts), which
 * is how the suite proves it can tell a broken adapter from a sound one.
 */
import { createHash, randomBytes, randomInt } from "node:crypto";
import { AuthError, isAuthError } from "../../../adapters/errors";
import type {
  AuthAdapter,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "../../../adapters/types";
import type { ConformanceHarness } from "../suite";

/** One way to get the contract wrong, each seen in real adapters. */
export type Flaw =
  /** Wrong codes are counted nowhere: a six-digit code falls to guessing (S10). */
  | "no attempt limit"
  /** A redeemed proof is not marked used (S3). */
  | "reusable proof"
  /** The provider's own exception is rethrown instead of an AuthError. */
  | "leaks a raw error"
  /** A newer start leaves the older link and code alive (S4). */
  | "ignores supersede"
  /** Only links are checked for expiry (S2). */
  | "codes never expire"
  /** A 429 becomes `rate_limited` without the provider's `Retry-After`. */
  | "drops Retry-After";

export const FLAWS: readonly Flaw[] = [
  "no attempt limit",
  "reusable proof",
  "leaks a raw error",
  "ignores supersede",
  "codes never expire",
  "drops Retry-After",
];

/** How the simulated provider fails, as an HTTP API does. */
type ProviderFault = { status: number; retryAfter?: number } | "network";

class ProviderError extends Error {
  constructor(
    readonly status?: number,
    readonly retryAfter?: number,
  ) {
    super(status ? `provider answered ${status}` : "fetch failed");
  }
}

interface Delivery {
  email: string;
  token: string;
  code: string;
  nonceHash: string;
  expiresAt: number;
  tries: number;
  used: boolean;
}

const MAX_ATTEMPTS = 5;
const TTL_MS = 600_000;

function createReferenceAdapter(options: {
  flaw?: Flaw;
  clock: () => number;
  provider: { fault?: ProviderFault };
  deliveries: Delivery[];
}): AuthAdapter {
  const { flaw, clock, provider, deliveries } = options;
  const name = flaw ? `reference (${flaw})` : "reference";
  const current = new Map<string, Delivery>();

  /** The provider round trip every call makes. */
  async function ask(): Promise<void> {
    await Promise.resolve();
    const fault = provider.fault;
    if (fault === "network") throw new TypeError("fetch failed");
    if (fault) throw new ProviderError(fault.status, fault.retryAfter);
  }

  /** Only AuthErrors leave; the provider's failure is mapped to what the app can act on. */
  async function guarded<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isAuthError(error) || flaw === "leaks a raw error") throw error;
      if (error instanceof ProviderError && error.status === 429) {
        const retryAfter = flaw === "drops Retry-After" ? undefined : error.retryAfter;
        throw new AuthError("rate_limited", "Provider asks to slow down", { retryAfter });
      }
      if (error instanceof ProviderError && error.status === 401) {
        throw new AuthError("misconfigured", "Provider refused the credentials");
      }
      throw new AuthError("unavailable", "Provider failed", { cause: error });
    }
  }

  function alive(delivery: Delivery): boolean {
    return flaw === "ignores supersede" || current.get(delivery.email) === delivery;
  }

  function identity(email: string): Identity {
    const id = createHash("sha256").update(email).digest("hex").slice(0, 16);
    return { id: `ref_${id}`, email, adapter: name };
  }

  /** Check and consume in one synchronous step: of parallel redemptions one wins (S3). */
  function redeem(delivery: Delivery | undefined, isCode: boolean, rightCode: boolean) {
    if (!delivery || !alive(delivery)) throw new AuthError("invalid", "Nothing pending");
    const limited = flaw !== "no attempt limit";
    if (limited && delivery.tries >= MAX_ATTEMPTS) {
      throw new AuthError("too_many_attempts", "Too many wrong codes");
    }
    if (delivery.used) throw new AuthError("used", "Already used");
    const expires = !(isCode && flaw === "codes never expire");
    if (expires && clock() > delivery.expiresAt) throw new AuthError("expired", "Expired");
    if (!rightCode) {
      delivery.tries += 1;
      if (limited && delivery.tries >= MAX_ATTEMPTS) {
        throw new AuthError("too_many_attempts", "Too many wrong codes");
      }
      throw new AuthError("invalid", "Wrong code");
    }
    if (flaw !== "reusable proof") delivery.used = true;
    return identity(delivery.email);
  }

  async function start(email: string, context: StartContext): Promise<StartResult> {
    return guarded(async () => {
      await ask();
      const delivery: Delivery = {
        email,
        token: randomBytes(24).toString("base64url"),
        code: String(randomInt(0, 1_000_000)).padStart(6, "0"),
        nonceHash: context.nonceHash,
        expiresAt: clock() + TTL_MS,
        tries: 0,
        used: false,
      };
      deliveries.push(delivery);
      current.set(email, delivery);
      return {
        delivered: { link: true, code: true },
        ref: delivery.token.slice(0, 8),
        adapter: name,
      };
    });
  }

  return {
    name,
    delivers: { link: true, code: true },
    start,
    sendCode: start,
    verify: (proof: Proof, context: VerifyContext) =>
      guarded(async () => {
        await ask();
        if (proof.kind === "link") {
          const delivery = deliveries.find((d) => d.token === proof.token);
          if (
            delivery &&
            alive(delivery) &&
            !delivery.used &&
            context.nonceHash !== delivery.nonceHash
          ) {
            throw new AuthError("not_same_browser", "Another browser");
          }
          return redeem(delivery, false, true);
        }
        if (proof.kind === "code") {
          if (!/^\d{6}$/.test(proof.code)) throw new AuthError("invalid", "A code is six digits");
          const matching =
            flaw === "ignores supersede"
              ? deliveries.find((d) => d.email === proof.email && d.code === proof.code && !d.used)
              : undefined;
          const delivery = matching ?? current.get(proof.email);
          return redeem(delivery, true, delivery?.code === proof.code);
        }
        throw new AuthError("invalid", "No callback codes here");
      }),
  };
}

/** The conformance harness for the reference adapter, flawless or with `flaw`. */
export function referenceHarness(flaw?: Flaw): ConformanceHarness {
  return {
    name: flaw ? `reference adapter with "${flaw}"` : "reference adapter",
    proofKinds: ["link", "code"],
    ttlMs: TTL_MS,
    bindsLinkToBrowser: true,
    maxCodeAttempts: MAX_ATTEMPTS,
    supersedes: true,
    hasProvider: true,
    async setup() {
      let now = Date.UTC(2030, 0, 1);
      const provider: { fault?: ProviderFault } = {};
      const deliveries: Delivery[] = [];
      const adapter = createReferenceAdapter({ flaw, clock: () => now, provider, deliveries });
      return {
        adapter,
        async proof(email, kind) {
          const delivery = deliveries.findLast((d) => d.email === email);
          if (!delivery) return undefined;
          return kind === "link"
            ? { kind: "link", token: delivery.token }
            : { kind: "code", email, code: delivery.code };
        },
        advance: (ms) => void (now += ms),
        breakProvider: () => void (provider.fault = { status: 500 }),
        rateLimitProvider: (seconds) =>
          void (provider.fault = { status: 429, retryAfter: seconds }),
        faults: {
          "the network fails": () => void (provider.fault = "network"),
          "HTTP 401": () => void (provider.fault = { status: 401 }),
        },
      };
    },
  };
}
