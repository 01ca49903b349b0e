import type { Route } from "./+types/auth.passkey";
import { passkeyJsonError } from "../auth/passkey-routes.server";
import { getServices } from "../services.server";

/**
 * POST /auth/passkey: options for signing in with a passkey, as JSON, with a challenge the
 * server keeps for five minutes and binds to this browser's ceremony cookie (S29). Nothing
 * here names an account: the browser offers whichever passkeys it holds for this site.
 */
export async function action({ request }: Route.ActionArgs) {
  const services = getServices();
  try {
    const { id, setCookie } = await services.passkeyCeremony.issue(request);
    const options = await services.passkeys.authenticationOptions(id);
    return Response.json(
      { options },
      { headers: { "Cache-Control": "no-store", "Set-Cookie": setCookie } },
    );
  } catch (error) {
    return passkeyJsonError(error);
  }
}

/** A GET changes nothing and gets nothing. */
export function loader() {
  return new Response("Use POST.", { status: 405, headers: { Allow: "POST" } });
}
