import { useEffect, useState } from "react";
import { Form, Link, redirect, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/login.check";
import { signInPageHeaders } from "../auth/headers";
import { deliveryView, type DeliveryView } from "../auth/delivery.server";
import { runSignInStep } from "../auth/flow.server";
import { deliveryWords } from "../auth/messages";
import { CodeForm } from "../components/forms";
import { Button, Card, ErrorAlert } from "../components/ui";
import { formatTime } from "../lib/format-time";
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
    delivery: await deliveryView(services, pending),
  };
}

export function headers(args: Route.HeadersArgs): Headers {
  return signInPageHeaders(args);
}

export async function action({ request }: Route.ActionArgs) {
  return runSignInStep(request);
}

/** How often the page asks how its email is doing, and for how long at most. */
const POLL_MS = 2_000;
const POLL_FOR_MS = 60_000;

/**
 * The delivery state, kept fresh with JavaScript: /login/status every 2 s until the email
 * is sent or failed, for a minute at most. Without JavaScript a reload shows the same.
 * `stale` is set when the minute ended before the email was settled: the page then says
 * that it no longer checks, rather than showing "still trying" as if it did.
 */
function useDelivery(initial: DeliveryView): { view: DeliveryView; stale: boolean } {
  const [view, setView] = useState(initial);
  const [stale, setStale] = useState(false);
  // A new answer from the loader (after "Send it again") replaces what polling found.
  const [shown, setShown] = useState(initial);
  if (shown !== initial) {
    setShown(initial);
    setView(initial);
    setStale(false);
  }
  useEffect(() => {
    const done = (v: DeliveryView) => v.settled && v.againInSeconds === undefined;
    if (done(initial)) return;
    const until = Date.now() + POLL_FOR_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    const poll = async () => {
      try {
        const response = await fetch("/login/status", { headers: { Accept: "application/json" } });
        if (response.ok) {
          const next = (await response.json()) as DeliveryView;
          if (stopped) return;
          setView(next);
          if (done(next)) return;
        }
      } catch {
        // Offline for a moment: ask again at the next tick.
      }
      if (stopped) return;
      if (Date.now() < until) timer = setTimeout(poll, POLL_MS);
      else setStale(true);
    };
    timer = setTimeout(poll, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [initial]);
  return { view, stale };
}

function deliveryTitle(view: DeliveryView): string {
  switch (view.state) {
    case "queued":
      return "Sending…";
    case "retrying":
      return "Your email provider is slow to answer; still trying";
    case "failed":
      return "We could not send it to this address";
    case "sent":
      // From the provider we only know when it took the request, not when it sent.
      if (view.sentSecondsAgo !== undefined && view.againInSeconds !== undefined)
        return `${view.by ? "Asked for" : "Sent"} ${view.sentSecondsAgo} s ago — use that email, or send again in ${view.againInSeconds} s`;
      if (view.by) {
        return view.sentAt
          ? `Our sign-in provider took it at ${formatTime(view.sentAt)}`
          : "Our sign-in provider took it";
      }
      return view.sentAt ? `Sent at ${formatTime(view.sentAt)}` : "Sent";
  }
}

export default function CheckEmail({ loaderData }: Route.ComponentProps) {
  const { email, delivered, canSendCode, minutes, mailbox } = loaderData;
  const { view: delivery, stale } = useDelivery(loaderData.delivery);
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const busy = navigation.state !== "idle";
  const intent = navigation.formData?.get("intent");
  const error = actionData?.error;
  const { what } = deliveryWords(delivered);
  const failed = delivery.state === "failed";
  const instruction = delivered.code
    ? "Enter the code here, in this tab."
    : "Open the link in this browser.";
  return (
    <Card>
      <h1 className={ui.heading}>Check your email</h1>
      <div
        role="status"
        data-delivery={delivery.state}
        className={ui.alert({ tone: failed ? "danger" : "info" })}
      >
        <p className={ui.alertTitle}>{deliveryTitle(delivery)}</p>
        <p className={ui.text}>
          {failed ? (
            <>
              The mail server would not take <strong>{email}</strong>. Check the address, or send it
              again.
            </>
          ) : delivery.state === "sent" && delivery.by ? (
            <>
              If <strong>{email}</strong> can receive mail, our sign-in provider is sending {what}{" "}
              to it; we cannot see when it arrives. {instruction} It works for about {minutes}{" "}
              minute{minutes === 1 ? "" : "s"}.
            </>
          ) : delivery.state === "sent" ? (
            <>
              If <strong>{email}</strong> can receive mail, we sent {what} to it. {instruction} It
              works for about {minutes} minute{minutes === 1 ? "" : "s"}.
            </>
          ) : (
            <>
              We are sending {what} to <strong>{email}</strong>. {instruction} It works for about{" "}
              {minutes} minute{minutes === 1 ? "" : "s"}.
            </>
          )}
        </p>
        {stale ? (
          <p className={ui.text}>
            This page has stopped checking. <Link to="/login/check">Reload it</Link> to see how your
            email is doing.
          </p>
        ) : null}
      </div>
      {error ? <ErrorAlert error={error} id="code-error" /> : null}
      {delivered.code && !failed ? (
        <CodeForm
          action="/login/check"
          label="Six-digit code"
          error={error}
          errorId="code-error"
          pending={busy && !intent}
        >
          Sign in with code
        </CodeForm>
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
