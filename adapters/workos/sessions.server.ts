import type { AuthAdapter, ProviderSession } from "../types";
import type { WorkosClient } from "./client.server";

/** Most WorkOS sessions ended per "sign out everywhere" (one page of the list). */
const MAX_SESSIONS = 100;

/**
 * WorkOS's "not found" (the SDK's NotFoundException, whose status is always 404): the
 * session or user is already gone, which is what we wanted.
 */
function isNotFound(error: unknown): boolean {
  return (error as { status?: unknown } | null | undefined)?.status === 404;
}

async function unlessGone(work: Promise<unknown>): Promise<void> {
  try {
    await work;
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * Ending WorkOS User Management sessions at sign-out: `revokeSession` for one, and
 * `listSessions` + `revokeSession` for every session of a WorkOS user. Failures come out
 * as AuthErrors (`unavailable`, `rate_limited`, `misconfigured`) for the app to retry.
 */
export function workosSessionEnding(
  client: WorkosClient,
): Required<Pick<AuthAdapter, "endSession" | "endAllSessions">> {
  return {
    async endSession(session: ProviderSession) {
      await client.call("sign_out", (sdk) =>
        unlessGone(sdk.userManagement.revokeSession({ sessionId: session.id })),
      );
    },
    async endAllSessions(providerUserId: string) {
      await client.call("sign_out", async (sdk) => {
        let ids: string[];
        try {
          const page = await sdk.userManagement.listSessions(providerUserId, {
            limit: MAX_SESSIONS,
          });
          ids = page.data.filter((s) => s.status === "active").map((s) => s.id);
        } catch (error) {
          if (isNotFound(error)) return;
          throw error;
        }
        for (const sessionId of ids) {
          await unlessGone(sdk.userManagement.revokeSession({ sessionId }));
        }
      });
    },
  };
}
