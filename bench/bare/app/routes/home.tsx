import { Link } from "react-router";
import { Card } from "../../../../app/components/ui";
import * as ui from "../../../../app/components/ui.css";

/** The starter's home page (app/routes/home.tsx) for a signed-out visitor; keep them in step. */
export const meta = () => [{ title: "Passwordless Starter" }];

/** The starter's home loader answers this for a visitor without a session. */
export function loader() {
  return { email: null };
}

export default function Home() {
  return (
    <Card>
      <h1 className={ui.heading}>Welcome</h1>
      <p className={ui.text}>You are not signed in.</p>
      <p className={ui.text}>
        <Link to="/login">Sign in with your email address</Link>: we send a link and a code, no
        password needed.
      </p>
    </Card>
  );
}
