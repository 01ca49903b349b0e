import { Form, Link, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/auth.callback";
import type { AuthErrorCode } from "../../adapters/errors";
import { authErrorData, runSignInStep } from "../auth/flow.server";
import { Button, Card, ErrorAlert } from "../components/ui";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Signing in" }];

/**
 * A provider's redirect URI (`APP_ORIGIN` + "/auth/callback"). In the browser that started
 * the sign-in (the pending cookie matches `state`) the code is exchanged at once. Anywhere
 * else nothing happens on GET (S7, S8): the page explains, and offers a button.
 */
export async function loader({ request }: Route.LoaderArgs) {
  const url = new URL(request.url);
  const services = getServices();
  const pending = await services.pending.read(request);
  const canSendCode = Boolean(services.adapter.sendCode && pending);
  const providerError = url.searchParams.get("error");
  if (providerError) {
    // OAuth's access_denied is what a provider answers for an expired or already used link.
    const code: AuthErrorCode = providerError === "access_denied" ? "used" : "invalid";
    return authErrorData({ code }, { canSendCode, code: "", state: "" });
  }
  const code = (url.searchParams.get("code") ?? "").slice(0, 512);
  const state = (url.searchParams.get("state") ?? "").slice(0, 200);
  if (request.method === "GET" && pending && services.pending.verifyState(state) === pending.id) {
    // Succeeds by throwing the redirect that carries the new session.
    const failed = await runSignInStep(request);
    return authErrorData(failed.data.error, { canSendCode, code: "", state: "" });
  }
  return { error: undefined, canSendCode, code, state };
}

export function headers(): HeadersInit {
  return { "Referrer-Policy": "same-origin", "Cache-Control": "no-store" };
}

export async function action({ request }: Route.ActionArgs) {
  return runSignInStep(request);
}

export default function Callback({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const error = actionData?.error ?? loaderData.error;
  return (
    <Card>
      <h1 className={ui.heading}>{error ? "Sign-in did not finish" : "Continue signing in"}</h1>
      {error ? (
        <ErrorAlert error={error} id="callback-error" />
      ) : (
        <p className={ui.text}>Press Continue to finish signing in, in the browser where you asked for the link.</p>
      )}
      {loaderData.canSendCode && error ? (
        <Form method="post" action="/login/check" className={ui.form}>
          <input type="hidden" name="intent" value="code-instead" />
          <Button type="submit" pending={navigation.state !== "idle"} pendingLabel="Sending…">
            Email me a code instead
          </Button>
        </Form>
      ) : null}
      {!error && loaderData.code ? (
        <Form method="post" action="/auth/callback" className={ui.form}>
          <input type="hidden" name="code" value={loaderData.code} />
          <input type="hidden" name="state" value={loaderData.state} />
          <Button type="submit" pending={navigation.state !== "idle"} pendingLabel="Signing in…">
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
