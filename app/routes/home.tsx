import { Link } from "react-router";
import type { Route } from "./+types/home";
import { getUser } from "../auth/flow.server";
import { deliveryWords } from "../auth/messages";
import { Card, Notice } from "../components/ui";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";

export const meta: Route.MetaFunction = () => [{ title: "Passwordless Starter" }];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await getUser(request);
  return {
    email: user?.email ?? null,
    // Set by /logout's redirect; only words, so a forged one changes nothing.
    signedOut: !user && new URL(request.url).searchParams.has("signed-out"),
    delivers: getServices().adapter.delivers,
  };
}

export default function Home({ loaderData }: Route.ComponentProps) {
  return (
    <Card>
      <h1 className={ui.heading}>Welcome</h1>
      {loaderData.signedOut ? <Notice tone="success">You are signed out.</Notice> : null}
      {loaderData.email ? (
        <p className={ui.text}>
          You are signed in as <strong>{loaderData.email}</strong>. Go to your{" "}
          <Link to="/dashboard">dashboard</Link>.
        </p>
      ) : (
        <>
          <p className={ui.text}>You are not signed in.</p>
          <p className={ui.text}>
            <Link to="/login">Sign in with your email address</Link>: we send{" "}
            {deliveryWords(loaderData.delivers).what}, no password needed.
          </p>
        </>
      )}
    </Card>
  );
}
