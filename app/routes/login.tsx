import { useEffect, useSyncExternalStore } from "react";
import { Form, redirect, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/login";
import { signInPageHeaders } from "../auth/headers";
import {
  externalRedirectAsData,
  getUser,
  runPasskeySignIn,
  runSignInStep,
} from "../auth/flow.server";
import { field, readForm, requestWithForm } from "../auth/form.server";
import { describePasskeyError } from "../auth/passkey-messages";
import { deliveryWords } from "../auth/messages";
import { safeReturnTo } from "../auth/return-to";
import { PasskeySignIn } from "../components/passkey-sign-in";
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
  // The body is read once and handed on (a clone of a streamed body can hang, trap 4).
  const form = await readForm(request);
  // A passkey's assertion signs in here at once (303 to the return path).
  if (field(form, "intent") === "passkey") return runPasskeySignIn(request, form);
  const scripted = field(form, "js") === "1";
  try {
    // Succeeds only by throwing a 303 (to the check-email page, or to the organization's
    // SSO); errors come back as data.
    return await runSignInStep(requestWithForm(request, form));
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
  const submitting =
    navigation.state !== "idle" &&
    navigation.formAction === "/login" &&
    navigation.formData?.get("intent") !== "passkey";
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
  const byPasskey = actionData !== undefined && "method" in actionData;
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
      {error ? (
        <ErrorAlert
          error={error}
          id="login-error"
          describe={byPasskey ? describePasskeyError : undefined}
        />
      ) : null}
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
            // "webauthn" lets the browser offer saved passkeys as the field gets focus.
            autoComplete="username webauthn"
            inputMode="email"
            required
            maxLength={254}
            className={ui.input}
            aria-invalid={!byPasskey && error?.code === "invalid_input" ? true : undefined}
            aria-describedby={error ? "login-error" : undefined}
          />
        </div>
        <Button type="submit" pending={submitting || Boolean(redirectTo)} pendingLabel="Sending…">
          {words.button}
        </Button>
      </Form>
      <PasskeySignIn returnTo={loaderData.returnTo} answer={actionData} />
    </Card>
  );
}
