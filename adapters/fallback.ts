import { AuthError, isAuthErrorCode } from "./errors";
import type {
  AuthAdapter,
  Delivered,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "./types";

export interface FallbackOptions {
  /** The registry name of the combined adapter (default "primary+fallback"). */
  name?: string;
}

/** Which adapter names each combined adapter answers for (a fallback may nest another). */
const members = new WeakMap<AuthAdapter, (name: string) => boolean>();

function answersFor(adapter: AuthAdapter, name: string): boolean {
  return adapter.name === name || (members.get(adapter)?.(name) ?? false);
}

/** Whether `adapter` issues the kind of secret this proof carries. */
function issues(adapter: AuthAdapter, proof: Proof): boolean {
  return proof.kind === "code" ? adapter.delivers.code : adapter.delivers.link;
}

/**
 * One adapter made of two: `start` asks `primary` and, only when it is `unavailable`
 * (network error, 5xx, timeout, the feature turned off), `fallback`; `StartResult.adapter`
 * says which one delivered, and the strategy keeps it in the pending-login cookie.
 *
 * - `rate_limited`, `misconfigured` and every other error are passed on, not retried
 *   elsewhere: a 429 means "wait", and a second provider would only double the mail.
 * - `verify` hands the proof to the adapter that issued it: the one named by
 *   `context.adapter` when it issues that kind of proof; otherwise the first that does
 *   (callback and link proofs to the link issuer, codes to the code issuer), which covers
 *   a code sent with `sendCode` after the cookie named the link adapter.
 * - `sendCode` (present when either member has it) is the "email me a code instead" after
 *   a used or expired link: the primary's if it has one, else the fallback's, with the
 *   same fall-back-on-unavailable rule when both have it.
 * - `verifySecondFactor` goes to the member named by `context.adapter` (the one whose
 *   `verify` asked for it); `endSession` and `endAllSessions` to the first member that has them.
 *
 * Provider-neutral: it knows adapters only through the {@link AuthAdapter} contract.
 */
export function withFallback(
  primary: AuthAdapter,
  fallback: AuthAdapter,
  options: FallbackOptions = {},
): AuthAdapter {
  const name = options.name ?? `${primary.name}+${fallback.name}`;
  const both = [primary, fallback] as const;

  async function firstAvailable(
    first: (email: string, context: StartContext) => Promise<StartResult>,
    second: ((email: string, context: StartContext) => Promise<StartResult>) | undefined,
    email: string,
    context: StartContext,
  ): Promise<StartResult> {
    try {
      return await first(email, context);
    } catch (error) {
      if (!second || !isAuthErrorCode(error, "unavailable")) throw error;
      return await second(email, context);
    }
  }

  const delivers: Delivered = {
    link: primary.delivers.link || fallback.delivers.link,
    code: primary.delivers.code || fallback.delivers.code,
  };

  const codeSenders = both.flatMap((adapter) =>
    adapter.sendCode ? [adapter.sendCode.bind(adapter)] : [],
  );

  const combined: AuthAdapter = {
    name,
    delivers,
    start: (email, context) =>
      firstAvailable(primary.start.bind(primary), fallback.start.bind(fallback), email, context),
    async verify(proof: Proof, context: VerifyContext) {
      const candidates = both.filter((adapter) => issues(adapter, proof));
      const named = context.adapter
        ? candidates.find((adapter) => answersFor(adapter, context.adapter as string))
        : undefined;
      const target = named ?? candidates[0];
      if (!target) throw new AuthError("invalid", "No adapter here issues this kind of proof");
      return target.verify(proof, context);
    },
  };
  // The second factor belongs to the adapter whose verify asked for it; without a name, the
  // first member that has one.
  const secondFactors = both.flatMap((adapter) =>
    adapter.verifySecondFactor
      ? [{ adapter, verify: adapter.verifySecondFactor.bind(adapter) }]
      : [],
  );
  const [firstFactor] = secondFactors;
  if (firstFactor) {
    combined.verifySecondFactor = (state, code, context) => {
      const named = context.adapter
        ? secondFactors.find(({ adapter }) => answersFor(adapter, context.adapter as string))
        : undefined;
      return (named ?? firstFactor).verify(state, code, context);
    };
  }
  const ender = both.find((adapter) => adapter.endSession);
  if (ender?.endSession) combined.endSession = ender.endSession.bind(ender);
  const allEnder = both.find((adapter) => adapter.endAllSessions);
  if (allEnder?.endAllSessions) combined.endAllSessions = allEnder.endAllSessions.bind(allEnder);
  const [sendFirst, sendSecond] = codeSenders;
  if (sendFirst) {
    combined.sendCode = (email, context) => firstAvailable(sendFirst, sendSecond, email, context);
  }
  members.set(combined, (candidate) => both.some((adapter) => answersFor(adapter, candidate)));
  return combined;
}
