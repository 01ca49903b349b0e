import { Link } from "react-router";
import type { Route } from "./+types/dashboard";
import { requireSession, requireUser } from "../auth/flow.server";
import { SignOutEverywhere } from "../components/forms";
import { Card } from "../components/ui";
import { formatTime } from "../lib/format-time";
import * as ui from "../components/ui.css";

export const meta: Route.MetaFunction = () => [{ title: "Dashboard" }];

/** The protected example: only a signed-in person gets past requireUser. */
export async function loader({ request }: Route.LoaderArgs) {
  const [session, user] = await Promise.all([requireSession(request), requireUser(request)]);
  return {
    email: user.email,
    // A field of your own (UserFields in app/auth/users.server.ts).
    displayName: user.fields.displayName ?? null,
    // For tests and your own pages; the page itself shows people no adapter id.
    adapter: session.user.adapter,
    signedInAt: new Date(session.issuedAt).toISOString(),
    expiresAt: new Date(session.expiresAt).toISOString(),
    idleExpiresAt: new Date(session.idleExpiresAt).toISOString(),
  };
}

export default function Dashboard({ loaderData }: Route.ComponentProps) {
  const { email, displayName, signedInAt, expiresAt, idleExpiresAt } = loaderData;
  return (
    <Card>
      <h1 className={ui.heading}>Dashboard</h1>
      {displayName ? (
        <p className={ui.text} data-testid="display-name">
          Welcome, {displayName}.
        </p>
      ) : null}
      <p className={ui.text}>
        You are signed in as <strong data-testid="user-email">{email}</strong>.
      </p>
      <dl className={ui.list}>
        <dt className={ui.label}>Signed in</dt>
        <dd>
          <time dateTime={signedInAt}>{formatTime(signedInAt)}</time>
        </dd>
        <dt className={ui.label}>Session ends</dt>
        <dd>
          <time dateTime={expiresAt} data-testid="session-expires">
            {formatTime(expiresAt)}
          </time>{" "}
          at the latest, or after inactivity at{" "}
          <time dateTime={idleExpiresAt}>{formatTime(idleExpiresAt)}</time>
        </dd>
      </dl>
      <p className={ui.text}>
        <Link to="/account/sessions">Your sessions</Link>: see and end the other browsers where you
        are signed in. <Link to="/account">Your account</Link>: how you sign in, and deleting it.
      </p>
      <p className={ui.text}>
        <Link to="/account/passkeys">Your passkeys</Link>: sign in with your fingerprint, face or
        screen lock instead of an email.
      </p>
      {/* "Sign out" is in the header; ending every session is the rarer, quieter action. */}
      <SignOutEverywhere quiet />
    </Card>
  );
}
