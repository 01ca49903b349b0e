import { Form, Link, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/auth.callback";
import { signInPageHeaders } from "../auth/headers";
import { authErrorData, runSignInStep } from "../auth/flow.server";
import type { ErrorView } from "../auth/messages";
import { Button, Card, ErrorAlert } from "../components/ui";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Signing in" }];

/** Provider callback codes are opaque; anything longer is not one. */
const MAX_CODE = 512;

/**
 * A provider's `?error=` (OAuth 2.0, RFC 6749 §4.1.2.1) as one of our error codes, for any
 * provider that redirects back here. `access_denied` is what a provider answers for an
 * emailed link that expired or was already used (a mail scanner opened it first); which of
 * the two is only said in `error_description`, worded for people, so it is read as a best
 * guess. Errors that only a wrong set-up can cause are `misconfigured`, never the person's.
 */
function callbackErrorView(params: URLSearchParams): ErrorView | undefined {
  const error = params.get("error");
  if (!error) return undefined;
  switch (error) {
    case "access_denied":
    case "invalid_grant": {
      const text = (params.get("error_description") ?? "").slice(0, 500).toLowerCase();
      if (/\b(used|redeemed|consumed)\b/.test(text)) return { code: "used" };
      if (/\b(invalid|not found|unknown)\b/.test(text) && !text.includes("expired"))
        return { code: "invalid" };
      return { code: "expired" };
    }
    case "server_error":
    case "temporarily_unavailable":
      return { code: "unavailable" };
    case "invalid_request":
    case "unauthorized_client":
    case "unsupported_response_type":
    case "invalid_scope":
    case "invalid_client":
      return { code: "misconfigured" };
    default:
      return { code: "invalid" };
  }
}

/** Errors after which a code by email may help; a rate limit means "wait" (no second send). */
function offersCode(error: ErrorView | undefined): boolean {
  return Boolean(error && error.code !== "rate_limited" && error.code !== "invalid_input");
}

/**
 * A provider's redirect URI (`APP_ORIGIN` + "/auth/callback").
 *
 * - `?error=` (an expired or used link): a page that says so and, when the adapter can send
 *   codes and this browser has a pending sign-in, offers "Email me a code instead".
 * - `?code&state` with a `state` we did not sign: refused, nothing is exchanged (S16).
 * - In the browser that started the sign-in (its pending cookie names the same sign-in as
 *   `state`), the code is exchanged at once and the person is signed in.
 * - Anywhere else (no pending cookie: another browser, a mail app's viewer, a scanner that
 *   followed the redirect), and on HEAD, nothing happens (S7, S8): the page explains and
 *   offers a Continue button whose POST the strategy checks again.
 */
export async function loader({ request }: Route.LoaderArgs) {
  const url = new URL(request.url);
  const services = getServices();
  const pending = await services.pending.read(request);
  // After an SSO redirect a code by email is no way in: the organization signs in with SSO.
  const canSendCode = Boolean(services.adapter.sendCode && pending && pending.match !== "domain");
  const providerError = callbackErrorView(url.searchParams);
  if (providerError) {
    services.log({
      step: "callback",
      outcome: `provider_error:${providerError.code}`,
      adapter: pending?.adapter,
    });
    return authErrorData(providerError, {
      canSendCode: canSendCode && offersCode(providerError),
      code: "",
      state: "",
    });
  }
  const code = url.searchParams.get("code") ?? "";
  const state = url.searchParams.get("state") ?? "";
  const stateId = services.pending.verifyState(state);
  if (!code || code.length > MAX_CODE || !stateId) {
    // A state we did not sign never reaches the strategy, and no Continue is offered (S16).
    services.log({ step: "callback", outcome: "invalid_state" });
    return authErrorData({ code: "invalid" }, { canSendCode, code: "", state: "" });
  }
  if (request.method === "GET" && pending?.id === stateId) {
    // Succeeds by throwing the 303 that carries the new session; failures come back as data.
    const failed = await runSignInStep(request);
    const error = failed.data.error;
    return authErrorData(error, {
      canSendCode: canSendCode && offersCode(error),
      code: "",
      state: "",
    });
  }
  return { error: undefined, canSendCode: false, code, state };
}

export function headers(args: Route.HeadersArgs): Headers {
  // The URL carries a one-time code: keep it out of Referer and caches (S17).
  return signInPageHeaders(args, { "Referrer-Policy": "same-origin" });
}

/** The Continue button: the strategy checks `state` against the pending cookie again (S8). */
export async function action({ request }: Route.ActionArgs) {
  return runSignInStep(request);
}

export default function Callback({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const error = actionData?.error ?? loaderData.error;
  const busy = navigation.state !== "idle";
  return (
    <Card>
      <h1 className={ui.heading}>{error ? "Sign-in did not finish" : "Continue signing in"}</h1>
      {error ? (
        <ErrorAlert error={error} id="callback-error" />
      ) : (
        <p className={ui.text}>
          This page did not come with the sign-in this browser asked for, so nothing has happened
          yet. If you asked for the link in this browser, press Continue; otherwise go back to the
          browser where you started.
        </p>
      )}
      {loaderData.canSendCode && error && offersCode(error) ? (
        <Form method="post" action="/login/check" className={ui.form}>
          <input type="hidden" name="intent" value="code-instead" />
          <Button type="submit" pending={busy} pendingLabel="Sending…">
            Email me a code instead
          </Button>
        </Form>
      ) : null}
      {!error && loaderData.code ? (
        <Form method="post" action="/auth/callback" className={ui.form}>
          <input type="hidden" name="code" value={loaderData.code} />
          <input type="hidden" name="state" value={loaderData.state} />
          <Button type="submit" pending={busy} pendingLabel="Signing in…">
            Continue
          </Button>
        </Form>
      ) : null}
      <p className={ui.muted}>
        <Link to="/login">Start again</Link>
      </p>
    </Card>
  );
}
