import { Form, Link, useActionData, useNavigation } from "react-router";
import type { Route } from "./+types/auth.link";
import { signInPageHeaders } from "../auth/headers";
import { runSignInStep } from "../auth/flow.server";
import { Button, Card, ErrorAlert } from "../components/ui";
import * as ui from "../components/ui.css";

export const meta: Route.MetaFunction = () => [{ title: "Continue signing in" }];

/**
 * The emailed link's page. Its GET changes nothing (S7): mail scanners fetch links, and
 * some run their scripts, before the person clicks. Only the form's POST redeems, and the
 * page keeps the token from leaking through Referer or caches (S17).
 */
export async function loader({ request }: Route.LoaderArgs) {
  const token = new URL(request.url).searchParams.get("token") ?? "";
  return { token: token.slice(0, 200) };
}

export function headers(args: Route.HeadersArgs): Headers {
  return signInPageHeaders(args, { "Referrer-Policy": "same-origin" });
}

export async function action({ request }: Route.ActionArgs) {
  return runSignInStep(request);
}

export default function LinkLanding({ loaderData }: Route.ComponentProps) {
  const actionData = useActionData<typeof action>();
  const navigation = useNavigation();
  const error = actionData?.error;
  const refused = error?.code === "not_same_browser";
  // After a failed Continue the page reloads without the token in its URL: show the error.
  if (!loaderData.token && !error) {
    return (
      <Card>
        <h1 className={ui.heading}>This link is incomplete</h1>
        <p className={ui.text}>
          Open the whole link from the email, or <Link to="/login">start again</Link>.
        </p>
      </Card>
    );
  }
  return (
    <Card>
      <h1 className={ui.heading}>Continue signing in</h1>
      {error ? (
        <ErrorAlert error={error} id="link-error" />
      ) : (
        <p className={ui.text}>Press Continue to finish signing in on this device.</p>
      )}
      {/* Refused in this browser: Continue cannot work here, so starting again is the main action. */}
      {error ? (
        <Link to="/login" className={ui.button({ kind: refused ? "primary" : "secondary" })}>
          Start again here
        </Link>
      ) : null}
      {/* The token travels in the body and the action URL has none, so the redirect after it never carries it. */}
      {loaderData.token && !refused ? (
        <Form method="post" action="/auth/link" className={ui.form}>
          <input type="hidden" name="token" value={loaderData.token} />
          <Button type="submit" pending={navigation.state !== "idle"} pendingLabel="Signing in…">
            Continue
          </Button>
        </Form>
      ) : null}
    </Card>
  );
}
