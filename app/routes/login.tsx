import { Form, redirect, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/login";
import { signInPageHeaders } from "../auth/headers";
import { getUser, runSignInStep } from "../auth/flow.server";
import { safeReturnTo } from "../auth/return-to";
import { Button, Card, ErrorAlert } from "../components/ui";
import * as ui from "../components/ui.css";

export const meta: Route.MetaFunction = () => [{ title: "Sign in" }];

export async function loader({ request }: Route.LoaderArgs) {
  const returnTo = safeReturnTo(new URL(request.url).searchParams.get("returnTo"));
  if (await getUser(request)) throw redirect(returnTo);
  return { returnTo };
}

export function headers(args: Route.HeadersArgs): Headers {
  return signInPageHeaders(args);
}

export async function action({ request }: Route.ActionArgs) {
  // Succeeds only by throwing the 303 to the check-email page; errors come back as data.
  return runSignInStep(request);
}

export default function Login({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const submitting = navigation.state !== "idle" && navigation.formAction === "/login";
  const error = actionData?.error;
  return (
    <Card>
      <h1 className={ui.heading}>Sign in</h1>
      <p className={ui.muted}>
        Enter your email address. We will send you a link and a code; no password needed.
      </p>
      {error ? <ErrorAlert error={error} id="login-error" /> : null}
      <Form method="post" action="/login" className={ui.form} noValidate>
        <input type="hidden" name="returnTo" value={loaderData.returnTo} />
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
        <Button type="submit" pending={submitting} pendingLabel="Sending…">
          Email me a sign-in link
        </Button>
      </Form>
    </Card>
  );
}
