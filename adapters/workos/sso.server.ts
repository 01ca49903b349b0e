import type { Store } from "../../app/store/types";
import { AuthError } from "../errors";
import type {
  AuthAdapter,
  Identity,
  Proof,
  RedirectStart,
  StartContext,
  VerifyContext,
} from "../types";
import type { WorkosClient } from "./client.server";
import { sessionFromAccessToken, workosIdentity } from "./identity";
import { workosMfa } from "./mfa.server";
import { workosSessionEnding } from "./sessions.server";

export const WORKOS_SSO = "workos-sso";

export interface WorkosSsoAdapterOptions {
  client: WorkosClient;
  /** Defaults to the client's. */
  clientId?: string;
  /** `WORKOS_SSO_DOMAINS`: lower-case domain → WorkOS organization id. */
  domains?: Readonly<Record<string, string>>;
  /**
   * `WORKOS_SSO_LOOKUP`: for a domain not configured, ask WorkOS which organization has it
   * as a verified domain and whether that organization has an active SSO connection.
   */
  lookup?: boolean;
  /** Where lookups are cached (shared by instances on Redis); required with `lookup`. */
  store?: Store;
  /** How long a lookup's answer is kept, seconds (default 600). */
  cacheSeconds?: number;
  appName?: string;
}

/** Callback codes are opaque; anything longer than this is not one of WorkOS's. */
const MAX_CALLBACK_CODE = 512;

const domainOf = (email: string) => email.slice(email.lastIndexOf("@") + 1).toLowerCase();

/**
 * Enterprise SSO through WorkOS, chosen by the address's domain ("home realm discovery").
 * For a domain whose organization signs in with SSO, `redirectFor` answers with the
 * AuthKit authorization URL for that organization (`getAuthorizationUrl` with
 * `organizationId`, the address as `loginHint`, the app's `/auth/callback` and the signed
 * pending id as `state`); WorkOS sends the browser to the organization's identity provider
 * and back to `/auth/callback`, where `verify` exchanges the code (`authenticateWithCode`).
 *
 * The strategy only calls `verify` in the browser whose pending cookie `state` names (S8),
 * and checks that the returned address is at the typed domain; this adapter checks that
 * the sign-in came from the organization the browser was sent to. MFA and session ending
 * are as for Magic Auth.
 *
 * It delivers nothing by email: combine it with an email adapter with `withRedirect`.
 */
export function createWorkosSsoAdapter(
  options: WorkosSsoAdapterOptions,
): AuthAdapter &
  Required<
    Pick<AuthAdapter, "redirectFor" | "verifySecondFactor" | "endSession" | "endAllSessions">
  > {
  const { client, store } = options;
  const clientId = options.clientId ?? client.clientId;
  const domains = new Map(
    Object.entries(options.domains ?? {}).map(([domain, org]) => [domain.toLowerCase(), org]),
  );
  const lookup = options.lookup ?? false;
  const cacheMs = (options.cacheSeconds ?? 600) * 1000;
  if (lookup && !store) throw new AuthError("misconfigured", "WORKOS_SSO_LOOKUP needs a store");
  const mfa = workosMfa({ client, clientId, appName: options.appName ?? "the app" });

  /** The organization that signs `domain` in with SSO, asked of WorkOS and cached. */
  async function lookUp(domain: string): Promise<string | null> {
    const key = `workos-sso:domain:${domain}`;
    // Stryker disable next-line OptionalChaining: lookUp runs only with `lookup`, which needs a store.
    const cached = await store?.get(key);
    // A cached "" is a cached "no".
    if (typeof cached === "string") return cached || null;
    const found = await client.call("start", async (sdk) => {
      const orgs = await sdk.organizations.listOrganizations({ domains: [domain], limit: 10 });
      for (const org of orgs.data) {
        const verified = org.domains.some((d) => d.domain === domain && d.state === "verified");
        if (!verified) continue;
        const connections = await sdk.sso.listConnections({ organizationId: org.id, limit: 10 });
        if (connections.data.some((c) => c.state === "active")) return org.id;
      }
      return null;
    });
    // A "no" is cached too, so a domain without SSO costs one lookup per cache period.
    // Stryker disable next-line OptionalChaining: as for the read above.
    await store?.set(key, found ?? "", cacheMs);
    return found;
  }

  async function redirectFor(email: string, context: StartContext): Promise<RedirectStart | null> {
    const domain = domainOf(email);
    let organizationId = domains.get(domain) ?? null;
    if (!organizationId && lookup) {
      try {
        organizationId = await lookUp(domain);
      } catch (error) {
        // WorkOS (or the cache) not answering must not stop sign-in: the address gets the
        // email sign-in instead, and the failure is in the log (mapWorkosError logs it).
        void error;
        return null;
      }
    }
    if (!organizationId) return null;
    const url = client.sdk.userManagement.getAuthorizationUrl({
      clientId,
      organizationId,
      loginHint: email,
      redirectUri: context.callbackUrl,
      // The signed pending id, never the return path (S16).
      state: context.state,
    });
    return { url, ref: organizationId, adapter: WORKOS_SSO, match: "domain" };
  }

  async function verify(proof: Proof, context: VerifyContext): Promise<Identity> {
    if (proof.kind !== "callback")
      throw new AuthError("invalid", "This adapter verifies callback codes only");
    const code = typeof proof.code === "string" ? proof.code.trim() : "";
    if (!code || code.length > MAX_CALLBACK_CODE)
      throw new AuthError("invalid", "Malformed callback code");
    const { user, accessToken, organizationId } = await mfa.authenticate((sdk) =>
      sdk.userManagement.authenticateWithCode({
        clientId,
        code,
        ipAddress: context.ip,
        userAgent: context.userAgent,
      }),
    );
    // The code must come from the organization this browser was sent to.
    if (context.ref && organizationId && organizationId !== context.ref) {
      throw new AuthError("invalid", "The sign-in came back from another organization");
    }
    return workosIdentity(user, WORKOS_SSO, sessionFromAccessToken(accessToken, user.id));
  }

  return {
    name: WORKOS_SSO,
    delivers: { link: false, code: false },
    async start() {
      throw new AuthError("invalid_input", "Single sign-on starts with a redirect, not an email");
    },
    redirectFor,
    verify,
    verifySecondFactor: (state, code, context) =>
      mfa.verifySecondFactor(WORKOS_SSO, state, code, context),
    ...workosSessionEnding(client),
  };
}
