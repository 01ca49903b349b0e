import { data, Form, Link, redirect, useActionData } from "react-router";
import type { Route } from "./+types/account";
import { confirmDeletion, deletionPending, sendDeletionCode } from "../auth/account.server";
import { requireSession, requireUser } from "../auth/flow.server";
import { field, readForm } from "../auth/form.server";
import { Button, Card, Notice } from "../components/ui";
import { formatTime } from "../lib/format-time";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Your account" }];

/** The signed-in person's account: the address, how they sign in, and deleting it. */
export async function loader({ request }: Route.LoaderArgs) {
  const [session, user] = await Promise.all([requireSession(request), requireUser(request)]);
  const identities = await getServices().users.identities(user.id);
  return {
    email: user.email,
    name: [user.firstName, user.lastName].filter(Boolean).join(" ") || null,
    createdAt: new Date(user.createdAt).toISOString(),
    methods: identities.map((identity) => ({
      method: identity.method,
      lastUsedAt: new Date(identity.lastUsedAt).toISOString(),
    })),
    confirming: await deletionPending(session),
  };
}

const noStore = { "Cache-Control": "no-store" };

/**
 * `intent=delete-send` emails a code; `intent=delete-confirm` with `code` deletes the
 * account (every session ends, on every device) and says so on /account/deleted.
 */
export async function action({ request }: Route.ActionArgs) {
  const [session, user] = await Promise.all([requireSession(request), requireUser(request)]);
  const form = await readForm(request);
  const intent = field(form, "intent");
  if (intent === "delete-send") {
    const outcome = await sendDeletionCode(request, session, user);
    if (!outcome.sent) {
      return data(
        { error: `Please wait ${outcome.retryAfter} seconds before asking for another code.` },
        { status: 429, headers: { ...noStore, "Retry-After": String(outcome.retryAfter) } },
      );
    }
    throw redirect("/account", { status: 303, headers: noStore });
  }
  if (intent === "delete-confirm") {
    const outcome = await confirmDeletion(session, user, field(form, "code"));
    if (outcome === "deleted") {
      const services = getServices();
      const headers = new Headers({ ...noStore, "Clear-Site-Data": '"cookies"' });
      headers.append("Set-Cookie", await services.sessions.clearCookie());
      throw redirect("/account/deleted", { status: 303, headers });
    }
    const words = {
      wrong: "That code is not right. Check the latest email and try again.",
      expired: "That code has expired or was replaced. Ask for a new one.",
      too_many_attempts: "Too many wrong codes. Ask for a new one.",
    } as const;
    return data({ error: words[outcome] }, { status: 400, headers: noStore });
  }
  return data({ error: "Unknown action." }, { status: 400, headers: noStore });
}

/**
 * A sign-in method in words: people are never shown an adapter id ("local", "workos").
 * `method` is an identity's method (its provider, else its adapter). Kept here, its only
 * use, rather than in ../auth/messages, which the sign-in page ships.
 */
function methodWords(method: string): string {
  switch (method) {
    case "passkey":
      return "With a passkey";
    case "blockid":
      return "With 1Kosmos BlockID";
    case "workos":
      return "By email or your organization's single sign-on";
    case "local":
      return "By email link or code";
    default:
      // A team's own adapter: every one signs in by email.
      return "By email";
  }
}

export default function Account({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const { email, name, createdAt, methods, confirming } = loaderData;
  return (
    <Card>
      <h1 className={ui.heading}>Your account</h1>
      <dl className={ui.list}>
        <dt className={ui.label}>Address</dt>
        <dd data-testid="account-email">{email}</dd>
        {name ? (
          <>
            <dt className={ui.label}>Name</dt>
            <dd>{name}</dd>
          </>
        ) : null}
        <dt className={ui.label}>Since</dt>
        <dd>
          <time dateTime={createdAt}>{formatTime(createdAt)}</time>
        </dd>
        <dt className={ui.label}>Ways you sign in</dt>
        <dd>
          <ul className={ui.list} data-testid="methods">
            {methods.map((m) => (
              <li key={m.method}>
                {methodWords(m.method)}, last used{" "}
                <time dateTime={m.lastUsedAt}>{formatTime(m.lastUsedAt)}</time>
              </li>
            ))}
          </ul>
        </dd>
      </dl>
      <p className={ui.text}>
        <Link to="/account/sessions">Your sessions</Link>
      </p>
      <h2 className={ui.sectionHeading}>Delete my account</h2>
      <p className={ui.muted}>
        Removes your account, the ways you sign in and your passkeys, and signs you out on every
        device. It cannot be undone.
      </p>
      {actionData?.error ? <Notice tone="danger">{actionData.error}</Notice> : null}
      {confirming ? (
        <Form method="post" className={ui.form} noValidate>
          <input type="hidden" name="intent" value="delete-confirm" />
          <div className={ui.field}>
            <label htmlFor="delete-code" className={ui.label}>
              Code from the email we sent to {email}
            </label>
            <input
              id="delete-code"
              name="code"
              type="text"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9 -]*"
              maxLength={9}
              required
              className={ui.codeInput}
            />
          </div>
          <Button type="submit">Delete my account</Button>
        </Form>
      ) : null}
      <Form method="post" className={ui.form}>
        <input type="hidden" name="intent" value="delete-send" />
        <Button type="submit" kind="secondary">
          {confirming ? "Email me a new code" : "Email me a code to delete my account"}
        </Button>
      </Form>
    </Card>
  );
}
