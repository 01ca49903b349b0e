import { renderSignInEmail } from "../../app/mail/template";
import type { Mailer } from "../../app/mail/types";
import { AuthError } from "../errors";
import { workosIdentity } from "./identity";
import type {
  AuthAdapter,
  Identity,
  Proof,
  StartContext,
  StartResult,
  VerifyContext,
} from "../types";
import type { WorkosClient } from "./client.server";

/** Who emails the sign-in: WorkOS's own email, or the app's template and mailer. */
export type WorkosEmailMode = "workos" | "app";

export interface WorkosMagicLinkAdapterOptions {
  client: WorkosClient;
  /** Defaults to the client's. */
  clientId?: string;
  /** `WORKOS_EMAIL`. */
  emailMode: WorkosEmailMode;
  /** Required when `emailMode` is "app". */
  mailer?: Mailer;
  appName?: string;
  /**
   * Link lifetime, seconds. WorkOS accepts 900–86 400; the default is its minimum, 900,
   * the closest it allows to our 10-minute rule (S2). The code the link yields lives
   * 10 minutes more.
   */
  expiresInSeconds?: number;
}

export const WORKOS_MAGIC_LINK = "workos-magic-link";

/** Callback codes are opaque; anything longer than this is not one of WorkOS's. */
const MAX_CALLBACK_CODE = 512;

/**
 * WorkOS Magic Link (passwordless sessions). The emailed link points at WorkOS, which
 * redirects to `context.callbackUrl` with `code` and `state`; the code is exchanged once.
 * WorkOS has deprecated Magic Link because mail scanners open the link first and consume
 * it: pair this adapter with Magic Auth through `withFallback` and offer "email me a code
 * instead" on `used`/`expired`.
 *
 * Single use and expiry are WorkOS's (the link and the code each work once); this adapter
 * keeps no state. It cannot bind the link to the browser (S8): the app checks `state`
 * against the pending-login cookie at `/auth/callback` instead.
 */
export function createWorkosMagicLinkAdapter(options: WorkosMagicLinkAdapterOptions): AuthAdapter {
  const { client, emailMode, mailer } = options;
  const clientId = options.clientId ?? client.clientId;
  const appName = options.appName ?? "the app";
  const expiresIn = options.expiresInSeconds ?? 900;
  if (emailMode === "app" && !mailer) {
    throw new AuthError("misconfigured", "WORKOS_EMAIL=app needs a mailer");
  }
  if (!Number.isInteger(expiresIn) || expiresIn < 900 || expiresIn > 86_400) {
    throw new AuthError("misconfigured", "A WorkOS Magic Link lives 900 to 86400 seconds");
  }

  async function start(email: string, context: StartContext): Promise<StartResult> {
    const session = await client.call("start", async (sdk) => {
      const created = await sdk.passwordless.createSession({
        type: "MagicLink",
        email,
        redirectURI: context.callbackUrl,
        // An opaque reference to the pending sign-in, never the return path (S16).
        state: context.state,
        expiresIn,
      });
      if (emailMode === "workos") await sdk.passwordless.sendSession(created.id);
      return created;
    });
    if (emailMode === "app") {
      try {
        // Stryker disable next-line OptionalChaining: the factory refuses "app" without a mailer.
        await mailer?.send({
          ...renderSignInEmail({
            to: email,
            appName,
            link: session.link,
            // WorkOS redirects to /auth/callback, which signs in at once in the starting browser.
            continueStep: false,
            expiresInMinutes: Math.ceil(expiresIn / 60),
          }),
          tag: context.mail,
        });
      } catch {
        throw new AuthError("unavailable", "The sign-in email could not be sent");
      }
    }
    return { delivered: { link: true, code: false }, ref: session.id, adapter: WORKOS_MAGIC_LINK };
  }

  async function verify(proof: Proof, _context: VerifyContext): Promise<Identity> {
    if (proof.kind !== "callback")
      throw new AuthError("invalid", "This adapter verifies callback codes only");
    const code = typeof proof.code === "string" ? proof.code.trim() : "";
    if (!code || code.length > MAX_CALLBACK_CODE)
      throw new AuthError("invalid", "Malformed callback code");
    const { profile } = await client.call("verify", (sdk) =>
      sdk.sso.getProfileAndToken({ code, clientId }),
    );
    return workosIdentity(profile, WORKOS_MAGIC_LINK);
  }

  return {
    name: WORKOS_MAGIC_LINK,
    delivers: { link: true, code: false },
    start,
    verify,
  };
}
