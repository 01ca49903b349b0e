import type { Identity } from "../types";

/** A WorkOS user or profile as an Identity; names only when WorkOS knows them. */
export function workosIdentity(
  who: { id: string; email: string; firstName?: string | null; lastName?: string | null },
  adapter: string,
): Identity {
  return {
    id: who.id,
    email: who.email,
    ...(who.firstName ? { firstName: who.firstName } : {}),
    ...(who.lastName ? { lastName: who.lastName } : {}),
    adapter,
    // Magic Link and Magic Auth answer with the same WorkOS user ids: one namespace.
    provider: "workos",
  };
}
