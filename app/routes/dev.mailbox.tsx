import { data } from "react-router";
import type { Route } from "./+types/dev.mailbox";
import { Card } from "../components/ui";
import { formatTime } from "../lib/format-time";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Dev mailbox" }];

/**
 * The dev outbox, for signing in with no mail server. It shows live sign-in links and
 * codes, so it exists only in development with MAIL_TRANSPORT=outbox: a production build
 * answers 404 whatever the configuration.
 */
export async function loader() {
  const { config, outbox } = getServices();
  if (import.meta.env.PROD || config.production || !outbox) {
    throw data("Not found", { status: 404 });
  }
  return {
    messages: outbox.list().map((m) => ({
      id: m.id,
      to: m.to,
      subject: m.subject,
      sentAt: new Date(m.sentAt).toISOString(),
      link: /https?:\/\/\S+/.exec(m.text)?.[0] ?? null,
      code: /^\d{6}$/m.exec(m.text)?.[0] ?? null,
      text: m.text,
    })),
  };
}

export function headers(): HeadersInit {
  return { "Cache-Control": "no-store", "Referrer-Policy": "same-origin" };
}

export default function Mailbox({ loaderData }: Route.ComponentProps) {
  return (
    <Card>
      <h1 className={ui.heading}>Dev mailbox</h1>
      <p className={ui.muted}>Emails the app would have sent, newest first. Only in development.</p>
      {loaderData.messages.length === 0 ? (
        <p className={ui.text}>
          No email yet. <a href="/login">Sign in</a> to get one.
        </p>
      ) : (
        <ol className={ui.stack}>
          {loaderData.messages.map((m) => (
            <li key={m.id}>
              <article aria-label={`Email to ${m.to}`} className={ui.item}>
                <h2 className={ui.subheading}>{m.subject}</h2>
                <p className={ui.muted}>
                  To <span className={ui.address}>{m.to}</span>,{" "}
                  <time dateTime={m.sentAt}>{formatTime(m.sentAt)}</time>
                </p>
                {m.link ? (
                  <p className={ui.text}>
                    <a href={m.link}>Open the sign-in link</a>
                  </p>
                ) : null}
                {m.code ? (
                  <p className={ui.text}>
                    Code:{" "}
                    <strong className={ui.mono} data-testid="mail-code">
                      {m.code}
                    </strong>
                  </p>
                ) : null}
              </article>
            </li>
          ))}
        </ol>
      )}
    </Card>
  );
}
