import { useEffect, useSyncExternalStore } from "react";
import { Form, redirect, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/login";
import { signInPageHeaders } from "../auth/headers";
import { externalRedirectAsData, getUser, runSignInStep } from "../auth/flow.server";
import { readForm } from "../auth/form.server";
import { deliveryWords } from "../auth/messages";
import { safeReturnTo } from "../auth/return-to";
import { Button, Card, ErrorAlert, Notice } from "../components/ui";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Sign in" }];

export async function loader({ request }: Route.LoaderArgs) {
  const returnTo = safeReturnTo(new URL(request.url).searchParams.get("returnTo"));
  if (await getUser(request)) throw redirect(returnTo);
  return { returnTo, delivers: getServices().adapter.delivers };
}

export function headers(args: Route.HeadersArgs): Headers {
  return signInPageHeaders(args);
}

export async function action({ request }: Route.ActionArgs) {
  // The strategy reads the body, so the page's own field is read from a copy (trap 4).
  const scripted = (await readForm(request.clone()).catch(() => null))?.get("js") === "1";
  try {
    // Succeeds only by throwing a 303 (to the check-email page, or to the organization's
    // SSO); errors come back as data.
    return await runSignInStep(request);
  } catch (thrown) {
    // With JavaScript the page first says where the person is going (the SSO redirect);
    // without it, the 303 just happens.
    const asData =
      scripted && thrown instanceof Response
        ? externalRedirectAsData(thrown, getServices().config.appOrigin)
        : undefined;
    if (asData) return asData;
    throw thrown;
  }
}

/** Hydration never changes back, so there is nothing to subscribe to. */
const noSubscription = () => () => {};

/** How long the SSO notice stays up before the browser leaves, ms: long enough to read. */
const SSO_NOTICE_MS = 800;

export default function Login({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state !== "idle" && navigation.formAction === "/login";
  const error = actionData && "error" in actionData ? actionData.error : undefined;
  const redirectTo = actionData && "redirectTo" in actionData ? actionData.redirectTo : undefined;
  // Only a hydrated page says "js": the server then answers the SSO redirect as data.
  const hydrated = useSyncExternalStore(
    noSubscription,
    () => true,
    () => false,
  );
  useEffect(() => {
    if (!redirectTo) return;
    const timer = setTimeout(() => window.location.assign(redirectTo), SSO_NOTICE_MS);
    return () => clearTimeout(timer);
  }, [redirectTo]);
  const words = deliveryWords(loaderData.delivers);
  return (
    <Card>
      <h1 className={ui.heading}>Sign in</h1>
      <p className={ui.muted}>
        Enter your email address. We will send you {words.what}; no password needed.
      </p>
      {redirectTo ? (
        <Notice title="Your organization signs in with single sign-on">
          <p className={ui.text}>
            Taking you to your organization&apos;s sign-in page… <a href={redirectTo}>Continue</a>
          </p>
        </Notice>
      ) : null}
      {error ? <ErrorAlert error={error} id="login-error" /> : null}
      <Form method="post" action="/login" className={ui.form} noValidate>
        <input type="hidden" name="returnTo" value={loaderData.returnTo} />
        {hydrated ? <input type="hidden" name="js" value="1" /> : null}
        <div className={ui.field}>
          <label htmlFor="email" className={ui.label}>
            Email address
          </label>
          <input
            id="email"
            name="email"
            type="email"
            autoComplete="email"
            inputMode="email"
            required
            maxLength={254}
            className={ui.input}
            aria-invalid={error?.code === "invalid_input" ? true : undefined}
            aria-describedby={error ? "login-error" : undefined}
          />
        </div>
        <Button type="submit" pending={submitting || Boolean(redirectTo)} pendingLabel="Sending…">
          {words.button}
        </Button>
      </Form>
    </Card>
  );
}
