import { AuthError } from "./errors";
import type { AuthAdapter, Identity, VerifyContext } from "./types";

/**
 * An email adapter plus one that signs some addresses in elsewhere (enterprise SSO by
 * domain): `redirectFor` is the redirecting adapter's; starting, codes and every proof
 * the redirecting adapter did not issue stay with the email adapter. `verify` and
 * `verifySecondFactor` go to the redirecting adapter when the pending sign-in names it
 * (`context.adapter`), otherwise to the email adapter. Ending provider sessions goes to
 * the first of the two that can.
 *
 * Provider-neutral: it knows adapters only through the {@link AuthAdapter} contract.
 */
export function withRedirect(email: AuthAdapter, redirecting: AuthAdapter): AuthAdapter {
  const owner = (context: VerifyContext) =>
    context.adapter === redirecting.name ? redirecting : email;
  const combined: AuthAdapter = {
    name: email.name,
    delivers: email.delivers,
    start: (address, context) => email.start(address, context),
    verify: (proof, context) => owner(context).verify(proof, context),
  };
  if (email.sendCode) combined.sendCode = email.sendCode.bind(email);
  if (redirecting.redirectFor) combined.redirectFor = redirecting.redirectFor.bind(redirecting);
  if (email.verifySecondFactor || redirecting.verifySecondFactor) {
    combined.verifySecondFactor = (state, code, context): Promise<Identity> => {
      const target = owner(context);
      if (!target.verifySecondFactor)
        return Promise.reject(new AuthError("expired", "No second factor is pending"));
      return target.verifySecondFactor(state, code, context);
    };
  }
  const ender = [email, redirecting].find((adapter) => adapter.endSession);
  if (ender?.endSession) combined.endSession = ender.endSession.bind(ender);
  const allEnder = [email, redirecting].find((adapter) => adapter.endAllSessions);
  if (allEnder?.endAllSessions) combined.endAllSessions = allEnder.endAllSessions.bind(allEnder);
  return combined;
}
