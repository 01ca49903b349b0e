import type { Route } from "./+types/account.passkeys.options";
import { getSession, getUser } from "../auth/flow.server";
import { passkeyJsonError } from "../auth/passkey-routes.server";
import { getServices } from "../services.server";

/**
 * POST /account/passkeys/options: options for adding a passkey, as JSON, with a challenge
 * bound to the session that asked (S29). Signed out, or at the limit: a JSON error.
 */
export async function action({ request }: Route.ActionArgs) {
  const session = await getSession(request);
  const user = session ? await getUser(request) : null;
  if (!session || !user) {
    return Response.json(
      { error: { code: "expired" } },
      { status: 401, headers: { "Cache-Control": "no-store" } },
    );
  }
  try {
    const options = await getServices().passkeys.registrationOptions(session.id, user);
    return Response.json({ options }, { headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    return passkeyJsonError(error);
  }
}

/** A GET changes nothing and gets nothing. */
export function loader() {
  return new Response("Use POST.", { status: 405, headers: { Allow: "POST" } });
}
