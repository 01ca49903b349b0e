import type { AuthenticationResponse, WorkOS } from "@workos-inc/node";
import { AuthError } from "../errors";
import type { Identity, SecondFactorStep, VerifyContext } from "../types";
import type { WorkosClient } from "./client.server";
import { sessionFromAccessToken, workosIdentity } from "./identity";

/** What the second-factor step keeps for `authenticateWithTotp` (sealed in the browser). */
interface MfaState {
  /** WorkOS's pending authentication token. */
  t: string;
  /** The authentication challenge the code answers. */
  c: string;
}

/** Pending tokens and ids are opaque; anything longer is not one of WorkOS's. */
const MAX_ID = 512;

const text = (value: unknown) =>
  typeof value === "string" && value.length > 0 && value.length <= MAX_ID ? value : undefined;

/** The `mfa_enrollment` / `mfa_challenge` answer of an authenticate call, if that is what `error` is. */
function mfaAnswer(error: unknown):
  | {
      kind: "enroll" | "challenge";
      pendingToken: string;
      userId: string;
      email: string;
      factorId?: string;
    }
  | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const { name, code, pendingAuthenticationToken, rawData } = error as Record<string, unknown>;
  if (name !== "AuthenticationException") return undefined;
  if (code !== "mfa_enrollment" && code !== "mfa_challenge") return undefined;
  const raw = (rawData ?? {}) as {
    user?: { id?: unknown; email?: unknown };
    authentication_factors?: { id?: unknown; type?: unknown }[];
  };
  const pendingToken = text(pendingAuthenticationToken);
  const userId = text(raw.user?.id);
  const email = text(raw.user?.email);
  if (!pendingToken || !userId || !email) return undefined;
  if (code === "mfa_enrollment") return { kind: "enroll", pendingToken, userId, email };
  const factorId = (raw.authentication_factors ?? [])
    .filter((factor) => factor.type === "totp")
    .map((factor) => text(factor.id))
    .find(Boolean);
  // A user whose only factors are of kinds this app cannot ask for cannot finish here.
  if (!factorId) return undefined;
  return { kind: "challenge", pendingToken, userId, email, factorId };
}

export interface WorkosMfaOptions {
  client: WorkosClient;
  clientId: string;
  /** The issuer name the authenticator app shows beside the code. */
  appName: string;
}

/**
 * Multi-factor authentication as WorkOS User Management asks for it. An authenticate call
 * that WorkOS answers with `mfa_enrollment` or `mfa_challenge` (403, with a pending
 * authentication token) becomes an AuthError `second_factor_required` whose step carries
 * what comes next: a new TOTP factor (its QR code and secret) and its first challenge, or
 * a challenge of the user's enrolled TOTP factor. `verifySecondFactor` then completes the
 * sign-in with `authenticateWithTotp`.
 */
export function workosMfa(options: WorkosMfaOptions) {
  const { client, clientId, appName } = options;

  /** Run an authenticate call; an MFA answer is turned into the second-factor step. */
  async function authenticate(
    run: (sdk: WorkOS) => Promise<AuthenticationResponse>,
  ): Promise<AuthenticationResponse> {
    return client.call("verify", async (sdk) => {
      let answer: ReturnType<typeof mfaAnswer>;
      try {
        return await run(sdk);
      } catch (error) {
        answer = mfaAnswer(error);
        if (!answer) throw error;
      }
      let step: SecondFactorStep;
      if (answer.kind === "enroll") {
        const { authenticationFactor, authenticationChallenge } =
          await sdk.multiFactorAuth.createUserAuthFactor({
            userId: answer.userId,
            type: "totp",
            totpIssuer: appName,
            totpUser: answer.email,
          });
        const totp = authenticationFactor.totp;
        if (!totp?.qrCode || !totp.secret) {
          throw new AuthError("unavailable", "WorkOS returned a factor without its secret");
        }
        step = {
          kind: "enroll",
          state: JSON.stringify({ t: answer.pendingToken, c: authenticationChallenge.id }),
          enrollment: { qrCode: totp.qrCode, secret: totp.secret },
        };
      } else {
        const challenge = await sdk.multiFactorAuth.challengeFactor({
          authenticationFactorId: answer.factorId as string,
        });
        step = {
          kind: "challenge",
          state: JSON.stringify({ t: answer.pendingToken, c: challenge.id }),
        };
      }
      throw new AuthError("second_factor_required", "WorkOS asks for a second factor", {
        secondFactor: step,
      });
    });
  }

  /** `authenticateWithTotp` with the step's state; the identity is named after `adapter`. */
  async function verifySecondFactor(
    adapter: string,
    state: string,
    code: string,
    context: VerifyContext,
  ): Promise<Identity> {
    let parsed: Partial<MfaState>;
    try {
      parsed = JSON.parse(state) as Partial<MfaState>;
    } catch {
      throw new AuthError("expired", "No second-factor step is pending");
    }
    const pendingAuthenticationToken = text(parsed.t);
    const authenticationChallengeId = text(parsed.c);
    if (!pendingAuthenticationToken || !authenticationChallengeId) {
      throw new AuthError("expired", "No second-factor step is pending");
    }
    const digits = typeof code === "string" ? code.trim() : "";
    // Checked here so that typos do not spend WorkOS's attempt budget.
    if (!/^\d{6}$/.test(digits)) throw new AuthError("invalid", "A code is six digits");
    const { user, accessToken } = await client.call("verify", (sdk) =>
      sdk.userManagement.authenticateWithTotp({
        clientId,
        code: digits,
        pendingAuthenticationToken,
        authenticationChallengeId,
        ipAddress: context.ip,
        userAgent: context.userAgent,
      }),
    );
    return workosIdentity(user, adapter, sessionFromAccessToken(accessToken, user.id));
  }

  return { authenticate, verifySecondFactor };
}
