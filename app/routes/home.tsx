import { Link } from "react-router";
import type { Route } from "./+types/home";
import { getUser } from "../auth/flow.server";
import { Card } from "../components/ui";
import * as ui from "../components/ui.css";

export const meta: Route.MetaFunction = () => [
  { title: "Passwordless Starter" },
  {
    name: "description",
    content: "Sign in with your email address: a link and a code, no password.",
  },
];

export async function loader({ request }: Route.LoaderArgs) {
  const user = await getUser(request);
  return { email: user?.email ?? null };
}

export default function Home({ loaderData }: Route.ComponentProps) {
  return (
    <Card>
      <h1 className={ui.heading}>Welcome</h1>
      {loaderData.email ? (
        <p className={ui.text}>
          You are signed in as <strong>{loaderData.email}</strong>. Go to your{" "}
          <Link to="/dashboard">dashboard</Link>.
        </p>
      ) : (
        <>
          <p className={ui.text}>You are not signed in.</p>
          <p className={ui.text}>
            <Link to="/login">Sign in with your email address</Link>: we send a link and a code, no
            password needed.
          </p>
        </>
      )}
    </Card>
  );
}
