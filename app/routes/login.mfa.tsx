import { data, Link, redirect, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/login.mfa";
import { signInPageHeaders } from "../auth/headers";
import { runSignInStep } from "../auth/flow.server";
import { CodeForm } from "../components/forms";
import { Card, ErrorAlert, Notice } from "../components/ui";
import * as ui from "../components/ui.css";
import * as styles from "./login.mfa.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Two-step verification" }];

/**
 * Only an image carried in the URL itself is shown (the page loads nothing from elsewhere,
 * and the CSP allows `data:` images only): a QR code as a PNG or SVG data URL.
 */
const QR_IMAGE = /^data:image\/(png|svg\+xml);base64,[A-Za-z0-9+/=]+$/;

/**
 * The second factor of a sign-in whose provider asks for one (MFA). The step lives in the
 * sealed second-factor cookie of this browser; without it there is nothing to do here.
 * Enrolling shows the QR code and, for people who cannot scan, the secret as text.
 */
export async function loader({ request }: Route.LoaderArgs) {
  const services = getServices();
  const step = await services.secondFactor.read(request);
  if (!step) throw redirect("/login");
  const enrollment = step.kind === "enroll" ? await services.secondFactor.enrollment(step) : null;
  // The page can show the factor's secret: never cached (S23).
  return data(
    {
      kind: step.kind,
      email: step.email,
      enrollment: enrollment
        ? {
            qrCode: QR_IMAGE.test(enrollment.qrCode) ? enrollment.qrCode : null,
            // Grouped by four, as authenticator apps show keys; spaces are ignored when typed.
            secret: enrollment.secret.replace(/(.{4})(?=.)/g, "$1 "),
          }
        : null,
      minutes: Math.max(1, Math.round((step.expiresAt - services.clock()) / 60_000)),
    },
    { headers: { "Cache-Control": "no-store" } },
  );
}

export function headers(args: Route.HeadersArgs): Headers {
  return signInPageHeaders(args);
}

/** POST `intent=second-factor` with `code`: the strategy checks it (S10 limits apply). */
export async function action({ request }: Route.ActionArgs) {
  return runSignInStep(request);
}

export default function SecondFactor({ loaderData }: Route.ComponentProps) {
  const { kind, email, enrollment, minutes } = loaderData;
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const error = actionData?.error;
  const enrolling = kind === "enroll";
  return (
    <Card>
      <h1 className={ui.heading}>
        {enrolling ? "Set up your authenticator app" : "Two-step verification"}
      </h1>
      <p className={ui.muted}>
        Signing in as <strong>{email}</strong>. This step works for about {minutes} minute
        {minutes === 1 ? "" : "s"}.
      </p>
      {enrolling ? (
        enrollment ? (
          <div className={styles.enrollment} data-testid="mfa-enrollment">
            <p className={ui.text}>
              Your account needs a second step at sign-in. Scan this code with an authenticator app
              (such as 1Password, Google Authenticator or Microsoft Authenticator).
            </p>
            {enrollment.qrCode ? (
              <img
                className={styles.qr}
                src={enrollment.qrCode}
                width={180}
                height={180}
                alt="QR code to add this account to your authenticator app"
              />
            ) : null}
            <p className={ui.text}>
              Cannot scan it? Add the account by hand with this key:{" "}
              <code className={ui.mono} data-testid="mfa-secret">
                {enrollment.secret}
              </code>
            </p>
          </div>
        ) : (
          <Notice tone="danger">
            <p className={ui.text}>The set-up has expired. Start again to get a new code.</p>
          </Notice>
        )
      ) : (
        <p className={ui.text}>Enter the six-digit code your authenticator app shows now.</p>
      )}
      {error ? <ErrorAlert error={error} id="mfa-error" /> : null}
      <CodeForm
        action="/login/mfa"
        intent="second-factor"
        label="Six-digit code from the app"
        error={error}
        errorId="mfa-error"
        pending={navigation.state !== "idle"}
      >
        {enrolling ? "Finish set-up and sign in" : "Sign in"}
      </CodeForm>
      <p className={ui.muted}>
        <Link to="/login">Start again</Link>
      </p>
    </Card>
  );
}
