import { renderSignInEmail } from "../../app/mail/template";
import type { Mailer } from "../../app/mail/types";
import { AuthError } from "../errors";
import { sessionFromAccessToken, workosIdentity } from "./identity";
import { workosMfa } from "./mfa.server";
import { workosSessionEnding } from "./sessions.server";
import type {
  AuthAdapter,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "../types";
import type { WorkosClient } from "./client.server";
import type { WorkosEmailMode } from "./magic-link.server";

export interface WorkosMagicAuthAdapterOptions {
  client: WorkosClient;
  /** Defaults to the client's. */
  clientId?: string;
  /**
   * `WORKOS_EMAIL`. With "app", also turn off WorkOS's own Magic Auth email in the
   * dashboard, or the person gets two.
   */
  emailMode: WorkosEmailMode;
  /** Required when `emailMode` is "app". */
  mailer?: Mailer;
  appName?: string;
}

export const WORKOS_MAGIC_AUTH = "workos-magic-auth";

/** WorkOS's Magic Auth codes live 10 minutes. */
const CODE_MINUTES = 10;

/**
 * WorkOS Magic Auth: a six-digit code by email, redeemed with the email it was sent to.
 * WorkOS enforces single use, the 10-minute expiry and the wrong-try limit, and signs the
 * person up on first use; this adapter keeps no state. The code is typed in the tab where
 * the sign-in started (the email comes from the pending-login cookie), so there is no link
 * for a scanner to consume.
 *
 * A sign-in opens a WorkOS session: its id (the access token's `sid`) comes back in
 * `Identity.providerSession`, and `endSession` / `endAllSessions` end it at sign-out. When
 * the environment requires MFA, `verify` throws `second_factor_required` and
 * `verifySecondFactor` finishes with the TOTP code (see ./mfa.server.ts).
 */
export function createWorkosMagicAuthAdapter(
  options: WorkosMagicAuthAdapterOptions,
): AuthAdapter &
  Required<Pick<AuthAdapter, "sendCode" | "verifySecondFactor" | "endSession" | "endAllSessions">> {
  const { client, emailMode, mailer } = options;
  const clientId = options.clientId ?? client.clientId;
  const appName = options.appName ?? "the app";
  if (emailMode === "app" && !mailer) {
    throw new AuthError("misconfigured", "WORKOS_EMAIL=app needs a mailer");
  }
  const mfa = workosMfa({ client, clientId, appName });

  async function start(email: string, context: StartContext): Promise<StartResult> {
    const magicAuth = await client.call("start", (sdk) =>
      sdk.userManagement.createMagicAuth({ email }),
    );
    if (emailMode === "app") {
      try {
        // Stryker disable next-line OptionalChaining: the factory refuses "app" without a mailer.
        await mailer?.send({
          ...renderSignInEmail({
            to: email,
            appName,
            code: magicAuth.code,
            expiresInMinutes: CODE_MINUTES,
          }),
          tag: context.mail,
        });
      } catch {
        throw new AuthError("unavailable", "The sign-in email could not be sent");
      }
    }
    return {
      delivered: { link: false, code: true },
      ref: magicAuth.id,
      adapter: WORKOS_MAGIC_AUTH,
    };
  }

  async function verify(proof: Proof, context: VerifyContext): Promise<Identity> {
    if (proof.kind !== "code") throw new AuthError("invalid", "This adapter verifies codes only");
    const code = typeof proof.code === "string" ? proof.code.trim() : "";
    // Checked here so that typos do not spend WorkOS's per-email attempt budget.
    if (!/^\d{6}$/.test(code)) throw new AuthError("invalid", "A code is six digits");
    if (typeof proof.email !== "string" || !proof.email || proof.email.length > 254) {
      throw new AuthError("invalid", "No pending email for this code");
    }
    const { user, accessToken } = await mfa.authenticate((sdk) =>
      sdk.userManagement.authenticateWithMagicAuth({
        clientId,
        code,
        email: proof.email,
        ipAddress: context.ip,
        userAgent: context.userAgent,
      }),
    );
    // Only the session id is kept; the access and refresh tokens are dropped (see docs/workos.md).
    return workosIdentity(user, WORKOS_MAGIC_AUTH, sessionFromAccessToken(accessToken, user.id));
  }

  return {
    name: WORKOS_MAGIC_AUTH,
    delivers: { link: false, code: true },
    start,
    verify,
    // Same as start: the "email me a code instead" after a scanner ate the link.
    sendCode: start,
    verifySecondFactor: (state, code, context) =>
      mfa.verifySecondFactor(WORKOS_MAGIC_AUTH, state, code, context),
    ...workosSessionEnding(client),
  };
}
