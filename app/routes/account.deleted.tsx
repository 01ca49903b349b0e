import { Link } from "react-router";
import type { Route } from "./+types/account.deleted";
import { Card } from "../components/ui";
import * as ui from "../components/ui.css";

export const meta: Route.MetaFunction = () => [{ title: "Account deleted" }];

/** Where a deletion ends: says what happened. Shows nothing about anyone. */
export default function AccountDeleted() {
  return (
    <Card>
      <h1 className={ui.heading}>Your account has been deleted</h1>
      <p className={ui.text} data-testid="deleted">
        Your account, the ways you signed in and your passkeys are gone, and you have been signed
        out on every device.
      </p>
      <p className={ui.text}>
        <Link to="/">Back to the start</Link>
      </p>
    </Card>
  );
}
