import { isAuthError } from "../../adapters/errors";
import { isStoreUnavailableError } from "../store/errors";
import { passkeyProblem } from "./passkeys.server";

/**
 * A failure of a passkey options request as JSON the page's script can put into words
 * (app/auth/passkey-messages.ts): a 4xx for the person's case, 503 when the store does not
 * answer (fail closed), never a 500.
 */
export function passkeyJsonError(error: unknown): Response {
  const headers = { "Cache-Control": "no-store" };
  if (isStoreUnavailableError(error) || (isAuthError(error) && error.code === "unavailable")) {
    return Response.json(
      { error: { code: "unavailable" } },
      { status: 503, headers: { ...headers, "Retry-After": "5" } },
    );
  }
  if (isAuthError(error)) {
    return Response.json(
      { error: { code: error.code, problem: passkeyProblem(error) } },
      { status: 409, headers },
    );
  }
  throw error;
}
