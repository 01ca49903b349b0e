import type { Identity, ProviderSession } from "../types";

/** A WorkOS user or profile as an Identity; names only when WorkOS knows them. */
export function workosIdentity(
  who: { id: string; email: string; firstName?: string | null; lastName?: string | null },
  adapter: string,
  providerSession?: ProviderSession,
): Identity {
  return {
    id: who.id,
    email: who.email,
    ...(who.firstName ? { firstName: who.firstName } : {}),
    ...(who.lastName ? { lastName: who.lastName } : {}),
    adapter,
    // Magic Link and Magic Auth answer with the same WorkOS user ids: one namespace.
    provider: "workos",
    ...(providerSession ? { providerSession } : {}),
  };
}

/** Session ids are opaque; anything longer than this is not one of WorkOS's. */
const MAX_SESSION_ID = 128;

/**
 * The WorkOS session a User Management sign-in opened: the `sid` claim of its access token
 * (a JWT), with the user it belongs to. Only `sid` is read; the token itself is dropped.
 *
 * The signature is not checked against WorkOS's JWKS: the token arrives in WorkOS's own
 * answer to our server's authenticated TLS request, so the channel already vouches for
 * it, and the id is used only to end that session at WorkOS (a wrong id ends nothing).
 */
export function sessionFromAccessToken(
  accessToken: string | undefined,
  userId: string,
): ProviderSession | undefined {
  const payload = accessToken?.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      sid?: unknown;
    };
    const sid = claims.sid;
    if (typeof sid !== "string" || !sid || sid.length > MAX_SESSION_ID) return undefined;
    return { id: sid, userId };
  } catch {
    return undefined;
  }
}
