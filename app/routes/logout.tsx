import { Form, redirect } from "react-router";
import type { Route } from "./+types/logout";
import { field, readForm } from "../auth/form.server";
import { getSession, getUser } from "../auth/flow.server";
import { SignOutEverywhere } from "../components/forms";
import { Button, Card } from "../components/ui";
import * as ui from "../components/ui.css";
import { getServices } from "../services.server";
import { hashEmail } from "../lib/log.server";

export const meta: Route.MetaFunction = () => [{ title: "Sign out" }];

/** Signing out is POST only (S22); a GET shows the buttons. */
export async function loader({ request }: Route.LoaderArgs) {
  if (!(await getSession(request))) throw redirect("/");
  return null;
}

export async function action({ request }: Route.ActionArgs) {
  const services = getServices();
  const form = await readForm(request);
  const session = await getSession(request);
  const user = session ? await getUser(request) : null;
  const everywhere = field(form, "scope") === "all";
  if (session && everywhere) await services.sessions.revokeAllFor(session.user.id);
  const headers = new Headers({ "Cache-Control": "no-store", "Clear-Site-Data": '"cookies"' });
  headers.append("Set-Cookie", await services.sessions.destroy(request));
  if (session) {
    services.log({
      step: everywhere ? "logout_all" : "logout",
      outcome: "success",
      adapter: session.user.adapter,
      emailHash: user ? hashEmail(user.email) : undefined,
    });
  }
  // The home page then says "You are signed out".
  throw redirect("/?signed-out", { status: 303, headers });
}

export default function Logout() {
  return (
    <Card>
      <h1 className={ui.heading}>Sign out</h1>
      <Form method="post" className={ui.form}>
        <Button type="submit">Sign out of this browser</Button>
      </Form>
      <SignOutEverywhere />
    </Card>
  );
}
