import { Form, Link, redirect, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/login.check";
import { signInPageHeaders } from "../auth/headers";
import { runSignInStep } from "../auth/flow.server";
import { deliveryWords } from "../auth/messages";
import { Button, Card, ErrorAlert, Notice } from "../components/ui";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Check your email" }];

export async function loader({ request }: Route.LoaderArgs) {
  const services = getServices();
  const pending = await services.pending.read(request);
  if (!pending) throw redirect("/login");
  return {
    email: pending.email,
    delivered: pending.delivered,
    canSendCode: Boolean(services.adapter.sendCode) && !pending.delivered.code,
    minutes: Math.max(1, Math.round((pending.expiresAt - services.clock()) / 60_000)),
    // In development the email is one click away.
    mailbox: !services.config.production && services.outbox ? "/dev/mailbox" : undefined,
  };
}

export function headers(args: Route.HeadersArgs): Headers {
  return signInPageHeaders(args);
}

export async function action({ request }: Route.ActionArgs) {
  return runSignInStep(request);
}

export default function CheckEmail({ loaderData }: Route.ComponentProps) {
  const { email, delivered, canSendCode, minutes, mailbox } = loaderData;
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== "idle";
  const intent = navigation.formData?.get("intent");
  const error = actionData?.error;
  const { what } = deliveryWords(delivered);
  return (
    <Card>
      <h1 className={ui.heading}>Check your email</h1>
      <Notice>
        <p className={ui.text}>
          If <strong>{email}</strong> can receive mail, we sent {what} to it.{" "}
          {delivered.code ? "Enter the code here, in this tab." : "Open the link in this browser."}{" "}
          It works for about {minutes} minute{minutes === 1 ? "" : "s"}.
        </p>
      </Notice>
      {error ? <ErrorAlert error={error} id="code-error" /> : null}
      {delivered.code ? (
        <Form method="post" action="/login/check" className={ui.form} noValidate>
          <div className={ui.field}>
            <label htmlFor="code" className={ui.label}>
              Six-digit code
            </label>
            <input
              id="code"
              name="code"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]*"
              maxLength={12}
              required
              className={ui.codeInput}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? "code-error" : undefined}
            />
          </div>
          <Button type="submit" pending={busy && !intent} pendingLabel="Checking…">
            Sign in with code
          </Button>
        </Form>
      ) : null}
      <Form method="post" action="/login/check" className={ui.form}>
        <input type="hidden" name="intent" value="resend" />
        <Button
          type="submit"
          kind="secondary"
          pending={busy && intent === "resend"}
          pendingLabel="Sending…"
        >
          Send it again
        </Button>
      </Form>
      {canSendCode ? (
        <Form method="post" action="/login/check" className={ui.form}>
          <input type="hidden" name="intent" value="code-instead" />
          <Button
            type="submit"
            kind="secondary"
            pending={busy && intent === "code-instead"}
            pendingLabel="Sending…"
          >
            Email me a code instead
          </Button>
        </Form>
      ) : null}
      {mailbox ? (
        <p className={ui.muted}>
          Development: the email is in the <Link to={mailbox}>dev mailbox</Link>.
        </p>
      ) : null}
      <p className={ui.muted}>
        Wrong address? <Link to="/login">Start again</Link>.
      </p>
    </Card>
  );
}
