import { data, redirect } from "react-router";
import { isAuthError, type AuthErrorCode } from "../../adapters/errors";
import { pageUrl } from "../lib/request-url";
import { getServices, PASSKEY_STRATEGY, STRATEGY } from "../services.server";
import { field, requestWithForm } from "./form.server";
import type { ErrorView } from "./messages";
import type { PasskeyErrorView } from "./passkey-messages";
import { passkeyProblem } from "./passkeys.server";
import { DEFAULT_RETURN_TO, safeReturnTo } from "./return-to";
import {
  oncePerRequest,
  type SessionInfo,
  type SessionRead,
  type SessionUser,
} from "./session.server";
import { isEmptyEmail } from "./strategy.server";
import type { User } from "./users.server";

export type { User };

/**
 * The signed-in user's record (id, address, names, your own fields), or null when signed
 * out. Read from the users store once per request, however many loaders ask, and in the
 * same round trip as the session's revocation check (see {@link readSession}).
 */
export async function getUser(request: Request): Promise<User | null> {
  const session = await getSession(request);
  if (!session) return null;
  return userRecord(request, session.user.id);
}

export async function getSession(request: Request): Promise<SessionInfo | null> {
  return (await readSession(request)).session;
}

/**
 * The request's session read (once per request; the root middleware makes it first). The
 * user record is asked for alongside the revocation check rather than after it: every page
 * shows the user (the root loader), and on Redis the two then share one round trip.
 */
export function readSession(request: Request): Promise<SessionRead> {
  return getServices().sessions.read(request, {
    alongside(userId) {
      // Security: only started early, never used early. getUser hands the record out only
      // once the read has said the session is live; a failure nobody then asks for (the
      // session was revoked) is dropped here, and one that is asked for fails closed there.
      void userRecord(request, userId).catch(() => undefined);
    },
  });
}

function userRecord(request: Request, id: string): Promise<User | null> {
  return oncePerRequest(request, `user\0${id}`, () => getServices().users.get(id));
}

/**
 * The signed-in session, or a redirect to /login that brings the person back here
 * afterwards (the return path is validated again when it is used, S16).
 */
export async function requireSession(request: Request): Promise<SessionInfo> {
  const session = await getSession(request);
  if (session) return session;
  throw toLogin(request);
}

/**
 * The signed-in user's record, or the same redirect to /login as {@link requireSession}.
 * A session whose user is gone (the account was deleted) counts as signed out.
 */
export async function requireUser(request: Request): Promise<User> {
  const user = await getUser(request);
  if (user) return user;
  throw toLogin(request);
}

function toLogin(request: Request): Response {
  const url = pageUrl(request);
  const returnTo = safeReturnTo(`${url.pathname}${url.search}`, DEFAULT_RETURN_TO);
  return redirect(`/login?returnTo=${encodeURIComponent(returnTo)}`);
}

const STATUS: Record<AuthErrorCode, number> = {
  invalid_input: 400,
  invalid: 400,
  expired: 400,
  used: 400,
  too_many_attempts: 429,
  rate_limited: 429,
  unavailable: 503,
  misconfigured: 503,
  not_same_browser: 403,
  sign_up_closed: 403,
  account_exists: 409,
  // The strategy turns it into the second-factor page; a route never shows it.
  second_factor_required: 409,
};

/** An AuthError as page data with a fitting status (never 500). */
export function authErrorData<Extra extends object = object>(
  error: ErrorView | PasskeyErrorView,
  extra?: Extra,
) {
  const headers = new Headers({ "Cache-Control": "no-store" });
  if (error.code === "rate_limited" && error.retryAfter)
    headers.set("Retry-After", String(Math.ceil(error.retryAfter)));
  return data({ error, ...(extra as Extra) }, { status: STATUS[error.code], headers });
}

/**
 * Run one step of the strategy for a route action or loader. Redirects (the start step's
 * 303, body-size refusals) are thrown on; on a verified identity a fresh session is made
 * (S20) and the person is sent to the validated return path with a 303 (S16, S17).
 */
export async function runSignInStep(request: Request) {
  const services = getServices();
  let user: SessionUser;
  try {
    user = await services.authenticator.authenticate(STRATEGY, request);
  } catch (error) {
    if (error instanceof Response) throw error;
    if (isAuthError(error))
      return authErrorData({
        code: error.code,
        retryAfter: error.retryAfter,
        // A blank field is told to fill it in, not that what it holds is wrong.
        ...(isEmptyEmail(error) ? { empty: true as const } : {}),
      });
    throw error;
  }
  // The return path comes from the signed state of this sign-in: the pending cookie, or
  // the second-factor cookie when MFA came in between (S16).
  const pending =
    (await services.pending.read(request)) ?? (await services.secondFactor.read(request));
  return startSession(request, user, pending?.returnTo);
}

/**
 * Sign in with a passkey (POST /login with `intent=passkey`, its `form` already read by the
 * route): the assertion is verified by the passkey strategy, then the session is made
 * exactly as for an email sign-in, and the person goes to the form's return path,
 * validated (S16). Errors come back as page data
 * marked `method: "passkey"`, so the page can put them in words about passkeys.
 */
export async function runPasskeySignIn(request: Request, form: URLSearchParams) {
  const services = getServices();
  let user: SessionUser;
  try {
    // The route has read the body already; the strategy gets it again (toolchain trap 4).
    user = await services.authenticator.authenticate(
      PASSKEY_STRATEGY,
      requestWithForm(request, form),
    );
  } catch (error) {
    if (error instanceof Response) throw error;
    if (isAuthError(error))
      return authErrorData(
        { code: error.code, retryAfter: error.retryAfter, problem: passkeyProblem(error) },
        { method: "passkey" as const },
      );
    throw error;
  }
  return startSession(request, user, field(form, "returnTo"));
}

/**
 * A new session for a verified user (S20), whichever way they came in: the old pending
 * sign-in and the passkey ceremony of this browser end, and a 303 goes to the validated
 * return path (S16, S17).
 */
async function startSession(
  request: Request,
  user: SessionUser,
  returnTo: unknown,
): Promise<never> {
  const services = getServices();
  const { setCookie } = await services.sessions.create(user, services.requestInfo(request));
  const headers = new Headers({ "Cache-Control": "no-store" });
  headers.append("Set-Cookie", setCookie);
  headers.append("Set-Cookie", await services.pending.clear());
  if (request.headers.get("Cookie")?.includes(`${services.secondFactor.cookieName}=`))
    headers.append("Set-Cookie", await services.secondFactor.clear());
  if (request.headers.get("Cookie")?.includes(`${services.passkeyCeremony.cookieName}=`))
    headers.append("Set-Cookie", await services.passkeyCeremony.clear());
  throw redirect(safeReturnTo(returnTo), { status: 303, headers });
}

/**
 * For a page whose form works with and without JavaScript: a 303 to another origin (the
 * SSO redirect) as data `{ redirectTo }` with the same cookies, so the page can say where
 * the person is going before the browser leaves. Anything else is returned as it is.
 */
export function externalRedirectAsData(response: Response, appOrigin: string) {
  const location = response.headers.get("Location");
  if (response.status !== 303 || !location || !URL.canParse(location)) return undefined;
  if (new URL(location).origin === appOrigin) return undefined;
  const headers = new Headers({ "Cache-Control": "no-store" });
  for (const cookie of response.headers.getSetCookie()) headers.append("Set-Cookie", cookie);
  return data({ redirectTo: location }, { headers });
}
